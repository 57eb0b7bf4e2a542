// The open curve's "Image options": which plane of a z-stack to read and how images of more than 8 bits
// become 8 bit (image-options.js WINDOW_MODES), shown only when its images offer the choice. DOM only (part
// of the UI layer; main.js reaches it through ui.js).
import { WINDOW_MODES } from './image-options.js';
import { h } from './ui-kit.js';

const $ = (id) => document.getElementById(id);

/** A labelled <select> of [value, text] choices showing `value`, calling `onPick(value)` on a change. */
function choice(id, label, options, value, onPick) {
  const select = h(
    'select',
    { id, onchange: (e) => onPick(e.target.value) },
    ...options.map(([v, text]) => h('option', { value: v }, text)),
  );
  select.value = value;
  return h('label', { class: 'field-label' }, label, select);
}

/**
 * The image options of the open curve (redrawn only when they changed, so an open menu stays open).
 *
 * @param {{planes: number, deep: boolean, plane: number|null, window: string}} offer  image-options.js
 *   offeredOptions: planes — the most planes of any image (a plane menu when > 1); deep — some image has
 *   more than 8 bits (a window menu); plane (from 0, null = middle) and window: the choice now
 * @param {{onImageOptions: (change: {plane?: number|null, window?: string}) => void}} handlers
 */
export function renderImageOptions(offer, { onImageOptions }) {
  const box = $('image-options');
  const key = JSON.stringify(offer);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.hidden = offer.planes < 2 && !offer.deep;
  if (box.hidden) return box.replaceChildren();
  const planes = Array.from({ length: offer.planes }, (_, k) => [String(k + 1), `plane ${k + 1}`]);
  const parts = [
    h('strong', {}, 'Image options'),
    offer.planes > 1
      ? choice(
          'plane-option',
          'Plane of each z-stack',
          [['', 'middle plane (default)'], ...planes],
          offer.plane === null ? '' : String(offer.plane + 1),
          (v) => onImageOptions({ plane: v === '' ? null : Number(v) - 1 }),
        )
      : null,
    offer.deep
      ? choice(
          'window-option',
          'Images of more than 8 bits, to 8 bit',
          Object.entries(WINDOW_MODES),
          offer.window,
          (v) => onImageOptions({ window: v }),
        )
      : null,
    h(
      'p',
      { class: 'hint' },
      "A change scores this curve's images again; each well's notes say what was used.",
    ),
  ];
  box.replaceChildren(...parts.filter(Boolean)); // (replaceChildren would write null as text)
}
