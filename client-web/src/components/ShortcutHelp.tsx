import { SHORTCUTS } from '../keys';
import { Modal } from './Modal';

/** The "?" dialog: every keyboard shortcut, from the same list the keys use. */
export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table class="shortcut-table" data-testid="shortcut-help">
        <caption class="sr-only">Keyboard shortcuts</caption>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <th scope="row">
                <kbd>{s.keys}</kbd>
              </th>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
