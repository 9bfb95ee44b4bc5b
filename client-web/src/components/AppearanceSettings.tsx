import { setTheme, themeChoice, type ThemeChoice } from '../theme';

const CHOICES: readonly [ThemeChoice, string][] = [
  ['system', 'Follow the system'],
  ['light', 'Light'],
  ['dark', 'Dark'],
];

/** The Account page's theme choice (kept in this browser). */
export function AppearanceSettings() {
  return (
    <fieldset class="admin-form" data-testid="appearance">
      <legend class="section-title">Appearance</legend>
      <div class="theme-choice">
        {CHOICES.map(([value, label]) => (
          <label key={value} class="radio">
            <input
              type="radio"
              name="theme"
              value={value}
              checked={themeChoice.value === value}
              onChange={() => setTheme(value)}
            />
            {label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
