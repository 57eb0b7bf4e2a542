// What became of each drop, drawn from plain data: the counts line "n files → n wells → n fitted", the files
// left out and the wells not fitted (each named, with the reason), the bright-field channel to choose (among
// the channels the file names say, or among a file's own channels), and the plate layout in use. DOM only (part of the UI layer; main.js reaches these through ui.js).
import { h, setText } from './ui-kit.js';

const $ = (id) => document.getElementById(id);

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One kind of left-out file or unfitted well: a count, and the names with their reasons on demand. */
function reasonGroup(group, what) {
  return h(
    'li',
    { dataset: { kind: group.kind, count: group.items.length } },
    h(
      'details',
      {},
      h('summary', {}, `${plural(group.items.length, what)} ${group.label}`),
      h(
        'ul',
        { class: 'reasons' },
        ...group.items.map((item) =>
          h('li', { dataset: { name: item.name } }, h('code', {}, item.name), ` — ${item.reason}`),
        ),
      ),
    ),
  );
}

function imagesLine(item) {
  const { summary, channel, formats } = item;
  const [fewest, most] = summary.fields;
  const fields = most > 1 ? ` (${fewest === most ? most : `${fewest}–${most}`} fields per well)` : '';
  const named = formats.length ? `, named by ${formats.join(', ')}` : '';
  const kept = channel && channel !== 'no channel' ? `, channel ${channel}` : '';
  return `${plural(summary.images, 'image')} in ${plural(summary.wells, 'well')}${fields}${named}${kept}`;
}

/** The buttons to choose the bright-field channel of a drop whose names do not say which it is. */
function channelChoice(item, onChannel) {
  return h(
    'div',
    { class: 'channel-choice' },
    h('p', { class: 'field-error' }, `Which channel is bright field? ${item.choice}.`),
    ...item.channels.map((c) =>
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          dataset: { channel: c.label },
          onclick: () => onChannel(item.id, c.value),
        },
        c.label,
      ),
    ),
  );
}

/**
 * The buttons to choose the bright-field channel among files' own channels (a multi-channel TIFF that names
 * none as transmitted light), for the files that hold the same channels.
 */
function fileChannelChoice(item, question, onFileChannel) {
  const one = question.files === 1;
  const which = one ? 'this file' : `these ${question.files} files`;
  // tiff.js's sentence is about one file ("this file holds 2 channels (…) and none is named as bright
  // field: choose one"): said of each of them, the buttons being the choice.
  const said = question.message.replace(/: choose one$/, '').replace(/^this file /, one ? 'It ' : 'Each ');
  return h(
    'div',
    { class: 'channel-choice', dataset: { files: question.files } },
    h('p', { class: 'field-error' }, `Which channel of ${which} is bright field? ${said}.`),
    ...question.channels.map((c) =>
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          dataset: { fileChannel: c.index },
          onclick: () => onFileChannel(item.id, question.key, c.index),
        },
        c.label,
      ),
    ),
  );
}

function importBox(item, { onChannel, onFileChannel }) {
  const s = item.summary;
  const counts = h(
    'p',
    {
      class: `counts${s.accounted ? '' : ' field-error'}`,
      dataset: { files: s.files, images: s.images, wells: s.wells, fitted: s.fitted },
    },
    h('strong', {}, `${plural(s.files, 'file')} → ${plural(s.wells, 'well')} → ${s.fitted} fitted`),
  );
  return h(
    'div',
    { class: 'import', dataset: { id: item.id } },
    counts,
    item.choice ? channelChoice(item, onChannel) : null,
    ...item.questions.map((q) => fileChannelChoice(item, q, onFileChannel)),
    h(
      'ul',
      { class: 'import-details' },
      h('li', { dataset: { kind: 'images', count: s.images } }, imagesLine(item)),
      ...s.left.map((g) => reasonGroup(g, 'file')),
      ...s.notFitted.map((g) => reasonGroup(g, 'well')),
    ),
    ...item.notes.map((note) => h('p', { class: 'note note-warn' }, note)),
  );
}

/**
 * Every drop's summary, newest first (redrawn only when it changed, so open lists stay open).
 *
 * @param {{id: number, summary: object, channel: string|null, formats: string[], choice: string|null,
 *   channels: {label: string, value: number|string}[], questions: {key: string, files: number,
 *   channels: {index: number, label: string}[], message: string}[], notes: string[]}[]} items  summary:
 *   imports.js importSummary; choice: why the bright-field channel must be chosen among the channels the
 *   file names say (null when it was found); questions: files whose own channels must be chosen among
 *   (image-options.js channelQuestions)
 * @param {{onChannel: (importId: number, value: number|string) => void, onFileChannel: (importId: number,
 *   key: string, index: number) => void}} handlers
 */
export function renderImports(items, handlers) {
  const box = $('imports');
  const key = JSON.stringify(items);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const open = new Set([...box.querySelectorAll('details[open]')].map(detailsKey));
  box.replaceChildren(...items.map((item) => importBox(item, handlers)));
  for (const details of box.querySelectorAll('details'))
    if (open.has(detailsKey(details))) details.open = true;
}

function detailsKey(details) {
  return `${details.closest('.import')?.dataset.id}|${details.closest('li')?.dataset.kind}`;
}

/**
 * The plate layout the session uses (the one imported last), or a hint that there is none.
 *
 * @param {{sources: string[], plates: {plate: string, size: number, wells: object}[]}} layout
 */
export function renderLayout(layout) {
  const text = layout.plates.length
    ? `In use: ${layout.sources.join(', ')} — ` +
      layout.plates
        .map((p) => `plate ${p.plate} (${Object.keys(p.wells).length} of ${p.size} wells)`)
        .join(', ')
    : 'No layout: concentrations come from the file names, a plate map or the table.';
  setText($('layout-status'), text);
}
