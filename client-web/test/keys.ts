// Typing into a textarea as a keyboard does, for component tests.

import { fireEvent } from '@testing-library/preact';

/** Types `text` one key at a time: keydown, the character goes in at the
 * caret, input, keyup (the component re-renders in between, as Preact does
 * before the browser's next task). */
export function typeKeys(box: HTMLTextAreaElement, text: string): void {
  for (const ch of text) {
    fireEvent.keyDown(box, { key: ch });
    const at = box.selectionStart;
    box.value = box.value.slice(0, at) + ch + box.value.slice(box.selectionEnd);
    box.setSelectionRange(at + 1, at + 1);
    fireEvent.input(box);
    fireEvent.keyUp(box, { key: ch });
  }
}
