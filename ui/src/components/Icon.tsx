// A handful of line icons drawn on a 16×16 grid.
const paths: Record<string, string> = {
  file: 'M4 1.5h5l3.5 3.5v9.5h-8.5zM9 1.5V5h3.5',
  folder: 'M1.5 3.5h4.5l1.5 1.5h7v8.5h-13z',
  folderOpen: 'M1.5 3.5h4.5l1.5 1.5h6v2M1.5 13.5V3.5M1.5 13.5l2.5-6.5h11l-2.5 6.5z',
  newFile: 'M4 1.5h5l3.5 3.5v9.5h-8.5zM8.25 7.5v5M5.75 10h5',
  newFolder: 'M1.5 3.5h4.5l1.5 1.5h7v8.5h-13zM8 7v5M5.5 9.5h5',
  upload: 'M8 11V2.5M4.5 6L8 2.5 11.5 6M2.5 10.5v3h11v-3',
  download: 'M8 2.5V11M4.5 7.5L8 11l3.5-3.5M2.5 10.5v3h11v-3',
  refresh: 'M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2v3h-3',
  rename: 'M10.5 2.5l3 3-8 8h-3v-3zM9 4l3 3',
  trash: 'M2.5 4h11M6 4V2.5h4V4M4 4l.75 9.5h6.5L12 4M6.75 6.5v5M9.25 6.5v5',
  chevron: 'M6 4l4 4-4 4',
  close: 'M4 4l8 8M12 4l-8 8',
  users: 'M6 7.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5zM1.5 14c0-2.5 2-4.5 4.5-4.5s4.5 2 4.5 4.5M11 2.75a2.5 2.5 0 0 1 0 4.5M12.5 9.75c1.25.6 2 2.1 2 4.25',
  save: 'M2.5 2.5h9l2 2v9h-11zM5 2.5v3.5h5V2.5M5 13.5v-4h6v4',
  copy: 'M5.5 5.5h8v8h-8zM10.5 5.5v-3h-8v8h3',
  check: 'M3 8.5l3 3 7-7',
  plus: 'M8 3v10M3 8h10',
  gear: 'M8 10a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4',
  logout: 'M6 2.5H2.5v11H6M10 5l3 3-3 3M13 8H6',
  back: 'M10 3L5 8l5 5',
  panel: 'M2.5 2.5h11v11h-11zM9.5 2.5v11',
  play: 'M4.5 2.75v10.5L13 8z',
  stop: 'M3.5 3.5h9v9h-9z',
  restart: 'M2.5 8a5.5 5.5 0 1 0 1.6-3.9M2.5 2v3h3',
  external: 'M9.5 2.5h4v4M13.5 2.5L7.5 8.5M11.5 9.5v4h-9v-9h4',
  terminal: 'M1.5 2.5h13v11h-13zM4 6l2.5 2L4 10M8 10.5h4',
  clear: 'M3 13h10M5.5 10.5l-2-2 6-6 4 4-6 6h-2M6.5 5.5l4 4',
  globe: 'M8 14.5a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM1.5 8h13M8 1.5c-2 2-2 11 0 13M8 1.5c2 2 2 11 0 13',
  spark: 'M8 1.5l1.5 5 5 1.5-5 1.5-1.5 5-1.5-5-5-1.5 5-1.5z',
  history: 'M2.5 8a5.5 5.5 0 1 0 1.6-3.9M2.5 2v3h3M8 5v3.5l2.5 1.5',
  search: 'M7 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zM10.75 10.75l3.5 3.5',
  maximize: 'M2.5 6V2.5H6M10 2.5h3.5V6M13.5 10v3.5H10M6 13.5H2.5V10',
  minimize: 'M6 2.5V6H2.5M10 2.5V6h3.5M13.5 10H10v3.5M2.5 10H6v3.5',
  code: 'M5.5 4.5L2 8l3.5 3.5M10.5 4.5L14 8l-3.5 3.5M9 3l-2 10',
}

export type IconName = keyof typeof paths

export function Icon({ name, size = 16, className }: { name: IconName; size?: number; className?: string }) {
  return (
    <svg
      className={'icon ' + (className ?? '')}
      width={size}
      height={size}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.3"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={paths[name]} />
    </svg>
  )
}

export function Logo() {
  return (
    <span className="logo">
      <span className="logo-mark" aria-hidden="true">E</span>
      <span className="logo-text">E-Code</span>
    </span>
  )
}
