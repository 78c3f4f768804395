"""What the chat app shows: answers as HTML (render), document pages (pages), feedback, and its static CSS and JavaScript."""
