
const focusQuote = () => {
  const m = element.querySelector('#qa-doc-focus');
  if (!m) return;
  const box = m.closest('.qa-doc-body, .qa-doc-pages');
  if (box) {  // scroll the document's own box so the quote sits a third of the way down...
    const offset = m.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += offset - box.clientHeight / 3;
  }
  // ...then move the page only as far as needed to show the document view
  (element.querySelector('.qa-doc') || m).scrollIntoView({block: 'nearest', inline: 'nearest'});
};
watch('value', focusQuote);
focusQuote();
