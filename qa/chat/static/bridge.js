
window.__qaCiteTrigger = trigger;
if (!window.__qaCiteBridge) {
  window.__qaCiteBridge = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target instanceof Element ? ev.target.closest('a[href^="#qa-cite-"]') : null;
    if (!a) return;
    const m = /^#qa-cite-(\d+)-(\d+)$/.exec(a.getAttribute('href') || '');
    if (!m) return;
    ev.preventDefault();
    ev.stopPropagation();
    window.__qaCiteTrigger('cite', {turn: Number(m[1]), n: Number(m[2])});
  }, true);
  // "ask as written" under a rewritten follow-up: the same kind of hash link, its own event
  document.addEventListener('click', (ev) => {
    const a = ev.target instanceof Element ? ev.target.closest('a[href^="#qa-aswritten-"]') : null;
    if (!a) return;
    const m = /^#qa-aswritten-(\d+)$/.exec(a.getAttribute('href') || '');
    if (!m) return;
    ev.preventDefault();
    ev.stopPropagation();
    window.__qaCiteTrigger('aswritten', {turn: Number(m[1])});
  }, true);
  const hideBusyToasts = () => {
    document.querySelectorAll('[data-testid="toast-body"]').forEach((t) => {
      if (/currently busy/i.test(t.textContent || '')) {
        const item = t.closest('.toast-item') || t;
        if (item.style.display !== 'none') item.style.display = 'none';
      }
    });
  };
  new MutationObserver(hideBusyToasts).observe(document.body, {childList: true, subtree: true});
}
// keep the selected evidence item in view inside the panel's own scroll box
watch('value', () => {
  const sel = element.querySelector('.qa-ev-selected');
  const box = element.querySelector('.qa-evidence');
  const head = element.querySelector('.qa-ev-head');
  if (sel && box) box.scrollTop += sel.getBoundingClientRect().top - box.getBoundingClientRect().top
                                   - (head ? head.offsetHeight : 0) - 6;
});
