"""What the chat app shows and keeps, under app.py.

render: replies and the evidence panel as HTML; docview: the document panel; pages: PDF pages drawn and cached;
conversation: a session's turns; feedback: thumbs up/down and their export; assets: the page's CSS and JavaScript,
from static/; access: who may sign in and what they may read.
"""
