// Light and dark themes. The colours are CSS variables (styles.css); dark mode
// is one block of overrides under `:root[data-theme='dark']`. The person picks
// "system" (the default: follows `prefers-color-scheme`, live), "light" or
// "dark"; the choice is kept in localStorage for this browser (not per user:
// the login page shows before anyone is known).

import { signal } from '@preact/signals';

export type ThemeChoice = 'system' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

const KEY = 'townhall.theme';

function load(): ThemeChoice {
  try {
    const v = globalThis.localStorage?.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

const query = globalThis.matchMedia?.('(prefers-color-scheme: dark)');

/** What the person chose. */
export const themeChoice = signal<ThemeChoice>(load());
/** The theme on screen. */
export const theme = signal<Theme>(resolve(themeChoice.value));

/** The theme a choice shows, given the system's preference. */
export function resolve(choice: ThemeChoice, systemDark = !!query?.matches): Theme {
  return choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
}

function apply(): void {
  theme.value = resolve(themeChoice.value);
  globalThis.document?.documentElement.setAttribute('data-theme', theme.value);
}

export function setTheme(choice: ThemeChoice): void {
  themeChoice.value = choice;
  try {
    if (choice === 'system') globalThis.localStorage?.removeItem(KEY);
    else globalThis.localStorage?.setItem(KEY, choice);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  apply();
}

/** The quick toggle: to the other theme than the one on screen. */
export function toggleTheme(): void {
  setTheme(theme.value === 'dark' ? 'light' : 'dark');
}

query?.addEventListener?.('change', apply);
apply();
