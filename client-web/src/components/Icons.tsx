// Small inline icons (no icon font, no network). Decorative: aria-hidden.

const base = { width: 16, height: 16, viewBox: '0 0 16 16', 'aria-hidden': true, focusable: 'false' } as const;

export const HashIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round">
    <path d="M6 2.5 5 13.5M11 2.5l-1 11M2.5 6h11M2 10.5h11" />
  </svg>
);

export const LockIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.5">
    <rect x="3" y="7" width="10" height="7" rx="1.5" />
    <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" />
  </svg>
);

export const PeopleIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round">
    <circle cx="6" cy="5.5" r="2.5" />
    <path d="M1.5 13.5c.5-2.5 2.3-4 4.5-4s4 1.5 4.5 4" />
    <path d="M10.5 3.2a2.4 2.4 0 0 1 0 4.6M12 9.8c1.3.6 2.2 1.9 2.5 3.7" />
  </svg>
);

export const BackIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">
    <path d="M10 3 5 8l5 5" />
  </svg>
);

export const SendIcon = () => (
  <svg {...base} fill="currentColor">
    <path d="M1.7 1.6a.6.6 0 0 1 .7-.1l12 6a.6.6 0 0 1 0 1l-12 6a.6.6 0 0 1-.8-.7L3 8.6h5.5a.6.6 0 0 0 0-1.2H3L1.6 2.2a.6.6 0 0 1 .1-.6Z" />
  </svg>
);

export const SearchIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">
    <circle cx="7" cy="7" r="4.5" />
    <path d="m10.5 10.5 3 3" />
  </svg>
);

export const PlusIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">
    <path d="M8 3v10M3 8h10" />
  </svg>
);

export const PenIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round">
    <path d="M10.5 2.5 13.5 5.5 5.5 13.5H2.5V10.5Z" />
  </svg>
);

export const QuestionIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round">
    <circle cx="8" cy="8" r="6" />
    <path d="M6.2 6.3a1.9 1.9 0 0 1 3.7.5c0 1.3-1.9 1.6-1.9 2.8" />
    <circle cx="8" cy="11.4" r="0.4" fill="currentColor" />
  </svg>
);

export const MegaphoneIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round">
    <path d="M2.5 6.5v3h2l5 3v-9l-5 3h-2Z" />
    <path d="M12 6a2.5 2.5 0 0 1 0 4M5 9.5l1 4" />
  </svg>
);
