// CodeMirror 6 configuration: theme, highlighting, languages by file extension.
import { basicSetup } from 'codemirror'
import { indentWithTab } from '@codemirror/commands'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { Compartment, EditorState, Prec, type Extension } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { tags as t } from '@lezer/highlight'
import { ySyncAnnotation } from 'y-codemirror.next'

/** Where a file's language support lives; loaded on demand (the languages are large). */
const loaders: Record<string, () => Promise<Extension>> = {
  js: () => import('@codemirror/lang-javascript').then((m) => m.javascript()),
  jsx: () => import('@codemirror/lang-javascript').then((m) => m.javascript({ jsx: true })),
  ts: () => import('@codemirror/lang-javascript').then((m) => m.javascript({ typescript: true })),
  tsx: () => import('@codemirror/lang-javascript').then((m) => m.javascript({ jsx: true, typescript: true })),
  py: () => import('@codemirror/lang-python').then((m) => m.python()),
  go: () => import('@codemirror/lang-go').then((m) => m.go()),
  html: () => import('@codemirror/lang-html').then((m) => m.html()),
  css: () => import('@codemirror/lang-css').then((m) => m.css()),
  json: () => import('@codemirror/lang-json').then((m) => m.json()),
  md: () => import('@codemirror/lang-markdown').then((m) => m.markdown()),
}
const aliases: Record<string, string> = { mjs: 'js', cjs: 'js', mts: 'ts', cts: 'ts', htm: 'html', markdown: 'md' }

/** The language support for a file, chosen by its extension (none for unknown kinds). */
export function loadLanguage(path: string): Promise<Extension> {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase()
  const load = loaders[aliases[ext] ?? ext]
  return load ? load().catch(() => []) : Promise.resolve([])
}

/** Holds a document's language, set once its support has loaded (see CodeEditor). */
export const languageSlot = new Compartment()

const names: Record<string, string> = {
  js: 'JavaScript', mjs: 'JavaScript', cjs: 'JavaScript', jsx: 'JSX', ts: 'TypeScript', mts: 'TypeScript',
  cts: 'TypeScript', tsx: 'TSX', py: 'Python', go: 'Go', html: 'HTML', htm: 'HTML', css: 'CSS', json: 'JSON',
  md: 'Markdown', markdown: 'Markdown',
}

/** The name of the highlighting used for a file ("Plain text" when none). */
export function languageName(path: string): string {
  const dot = path.lastIndexOf('.')
  return (dot >= 0 && names[path.slice(dot + 1).toLowerCase()]) || 'Plain text'
}

const theme = EditorView.theme(
  {
    '&': { color: 'var(--ed-fg)', backgroundColor: 'var(--ed-bg)', height: '100%', fontSize: '13.5px' },
    '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.6' },
    '.cm-content': { caretColor: 'var(--accent)', padding: '8px 0' },
    '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--accent)', borderLeftWidth: '2px' },
    '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection':
      { backgroundColor: '#2c4a6e !important' },
    '.cm-gutters': { backgroundColor: 'var(--ed-bg)', color: 'var(--ed-gutter)', border: 'none' },
    '.cm-lineNumbers .cm-gutterElement': { padding: '0 12px 0 16px' },
    '.cm-activeLine': { backgroundColor: 'rgba(255,255,255,0.035)' },
    '.cm-activeLineGutter': { backgroundColor: 'transparent', color: 'var(--fg)' },
    '.cm-foldPlaceholder': { backgroundColor: 'var(--bg-3)', border: 'none', color: 'var(--fg-dim)' },
    '.cm-matchingBracket, .cm-nonmatchingBracket': { backgroundColor: 'rgba(255,255,255,0.1)', outline: 'none' },
    '.cm-selectionMatch': { backgroundColor: 'rgba(120,170,255,0.14)' },
    '.cm-searchMatch': { backgroundColor: 'rgba(255,200,0,0.2)', outline: '1px solid rgba(255,200,0,0.4)' },
    '.cm-tooltip': { backgroundColor: 'var(--bg-2)', border: '1px solid var(--border)', color: 'var(--fg)' },
    '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--accent-dim)', color: 'var(--fg)' },
    '.cm-panels': { backgroundColor: 'var(--bg-2)', color: 'var(--fg)' },
    '.cm-panels.cm-panels-top': { borderBottom: '1px solid var(--border)' },
    '.cm-panels.cm-panels-bottom': { borderTop: '1px solid var(--border)' },
    '.cm-panel.cm-search': { padding: '6px 30px 6px 10px', fontSize: '12px' },
    '.cm-panel input, .cm-panel button, .cm-panel label': { fontSize: '12px', color: 'var(--fg)' },
    '.cm-textfield': {
      backgroundColor: 'var(--bg)', color: 'var(--fg)', border: '1px solid var(--border)', borderRadius: '4px', padding: '3px 6px',
    },
    '.cm-textfield:focus': { outline: '2px solid var(--accent)', outlineOffset: '-1px' },
    '.cm-button': {
      backgroundImage: 'none', backgroundColor: 'var(--bg-3)', color: 'var(--fg)', border: '1px solid var(--border)', borderRadius: '4px',
      padding: '3px 8px',
    },
    '.cm-button:hover': { backgroundColor: 'var(--bg-4, var(--bg-3))', borderColor: 'var(--fg-faint)' },
    '.cm-panel.cm-search [name=close]': { color: 'var(--fg-dim)', fontSize: '16px' },
    '.cm-panel input[type=checkbox]': { accentColor: 'var(--accent)' },
    '.cm-searchMatch.cm-searchMatch-selected': { backgroundColor: 'rgba(255,200,0,0.45)' },
  },
  { dark: true },
)

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.moduleKeyword, t.controlKeyword, t.operatorKeyword], color: '#c792ea' },
  { tag: [t.definitionKeyword, t.modifier], color: '#c792ea' },
  { tag: [t.string, t.special(t.string), t.regexp], color: '#a5d6a7' },
  { tag: [t.number, t.bool, t.null, t.atom], color: '#f78c6c' },
  { tag: [t.comment, t.lineComment, t.blockComment, t.docComment], color: '#6b7589', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: '#82aaff' },
  { tag: [t.definition(t.variableName), t.definition(t.propertyName)], color: '#e6e9ef' },
  { tag: [t.typeName, t.className, t.namespace], color: '#ffcb6b' },
  { tag: [t.propertyName], color: '#89ddff' },
  { tag: [t.tagName], color: '#f07178' },
  { tag: [t.attributeName], color: '#ffcb6b' },
  { tag: [t.attributeValue], color: '#a5d6a7' },
  { tag: [t.operator, t.punctuation, t.separator, t.bracket], color: '#9aa5b8' },
  { tag: [t.heading], color: '#82aaff', fontWeight: 'bold' },
  { tag: [t.emphasis], fontStyle: 'italic' },
  { tag: [t.strong], fontWeight: 'bold' },
  { tag: [t.link, t.url], color: '#89ddff', textDecoration: 'underline' },
  { tag: [t.meta, t.processingInstruction], color: '#9aa5b8' },
  { tag: [t.invalid], color: '#ff5370' },
])

export interface DocHooks {
  /** Called on Mod-S. */
  onSave: () => void
  /**
   * Called after every update of the editor; localEdit says whether this
   * user changed the text (remote changes of a live document do not count).
   */
  onChange: (state: EditorState, localEdit: boolean) => void
}

/**
 * A fresh editor state for one open file. With `collab` (the live document's
 * binding, see ui/src/collab) `text` must be the live text; the binding's
 * undo manager takes precedence over CodeMirror's history.
 */
export function createDocState(text: string, path: string, readOnly: boolean, hooks: DocHooks, collab?: Extension): EditorState {
  return EditorState.create({
    doc: text,
    extensions: [
      Prec.highest(keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => (hooks.onSave(), true) }])),
      collab ? Prec.high(collab) : [],
      basicSetup,
      keymap.of([indentWithTab]),
      theme,
      syntaxHighlighting(highlight),
      languageSlot.of([]),
      EditorState.readOnly.of(readOnly),
      EditorView.contentAttributes.of({ 'aria-label': `Editor: ${path}` }),
      EditorView.updateListener.of((u) => {
        if (u.transactions.length)
          hooks.onChange(u.state, u.transactions.some((tr) => tr.docChanged && tr.annotation(ySyncAnnotation) === undefined))
      }),
    ],
  })
}
