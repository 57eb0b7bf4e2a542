// Small helpers of the DOM layer (ui.js, ui-tables.js, ui-train.js): building elements, formatting numbers
// for people, making an element a drop target. Nothing here looks an element up or knows the page's layout.
import { droppedFiles } from './dropped.js';

/** Create an element with attributes/properties and children. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && k !== 'list') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * A canvas showing a thumbnail's pixels at their own size (CSS scales it).
 *
 * @param {{rgba: Uint8ClampedArray, width: number, height: number}} thumb  worker.js' thumbnail
 * @param {object} [props]  more attributes, as for `h`
 */
export function thumbCanvas(thumb, props = {}) {
  const canvas = h('canvas', { ...props, width: thumb.width, height: thumb.height });
  canvas.getContext('2d').putImageData(new ImageData(thumb.rgba, thumb.width, thumb.height), 0, 0);
  return canvas;
}

/** `x` with `digits` decimals, or "—" when it is missing or not finite. */
export const num = (x, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : Number(x).toFixed(digits);

/** `x` with `n` significant digits, or "—" when it is missing or not finite. */
export const sig = (x, n = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Number(Number(x).toPrecision(n)));

/** Set an element's text only when it changed (keeps selections and avoids layout work). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Make an element take drops of files and folders: highlighted while files are dragged over it; on a drop,
 * `onDrop` gets the promise of its files (dropped.js droppedFiles: folders walked, the entries taken now).
 */
export function dropTarget(el, onDrop) {
  el.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.classList.add('dragging');
  });
  el.addEventListener('dragleave', () => el.classList.remove('dragging'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    el.classList.remove('dragging');
    onDrop(droppedFiles(e.dataTransfer));
  });
}
