// Copying a link or Markdown to the clipboard, with a way out when the browser will not allow it
// (no secure context, permission refused): the text is shown selected, for Ctrl+C by hand.

/** Markdown for an image: `![alt](url)`, the alt text's brackets escaped. */
export function markdownFor(alt, url) {
  const text = (alt || 'Image').replace(/[\\[\]]/g, '\\$&').replace(/\s+/g, ' ');
  return `![${text}](${url})`;
}

/**
 * Copies `text`; says what happened in `status` (a live region). Without clipboard access it puts
 * the text in a read-only field after `anchor`, selected, and says how to copy it.
 */
export async function copyText(text, label, anchor, status) {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    say(status, `${label} copied.`);
    return true;
  } catch {
    let field = anchor.parentElement?.querySelector('.copy-fallback');
    if (!field) {
      field = document.createElement('input');
      field.type = 'text';
      field.readOnly = true;
      field.className = 'copy-fallback';
      anchor.parentElement?.append(field);
    }
    field.value = text;
    field.setAttribute('aria-label', `${label} to copy`);
    field.focus();
    field.select();
    say(
      status,
      `Copying is not allowed here: the ${label.toLowerCase()} is selected, press Ctrl+C to copy it.`,
    );
    return false;
  }
}

function say(status, message) {
  if (!status) return;
  status.textContent = '';
  // A fresh text node, so that screen readers announce the same message twice in a row.
  requestAnimationFrame(() => {
    status.textContent = message;
  });
}

/** Wires every `button[data-copy]` under `root` (made visible here: they need this script). */
export function wireCopyButtons(root, status) {
  for (const button of root.querySelectorAll('button[data-copy]')) {
    if (button.dataset.wired) continue;
    button.dataset.wired = '1';
    button.hidden = false;
    button.addEventListener('click', () => {
      copyText(button.dataset.copy, button.dataset.copyLabel || 'Link', button, status);
    });
  }
}
