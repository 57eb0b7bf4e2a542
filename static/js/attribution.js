// Occlusion attribution (the twin of training/attribution.py): slide a grey patch over a grid of cells of the
// model input and record how much the predicted OD450 drops. Pure functions on typed arrays (no DOM, no
// TF.js): the worker runs the model on the batches these build.

/**
 * Cell edges along one side: cell i covers [edge[i], edge[i+1]) with edge[i] = floor(i · size / grid).
 *
 * @param {number} size  model input side (px)
 * @param {number} grid  cells per side
 * @returns {Int32Array}  (grid + 1,)
 */
export function cellEdges(size, grid) {
  if (!Number.isInteger(grid) || grid < 1 || grid > size) {
    throw new RangeError(`grid must be an integer from 1 to ${size}; got ${grid}`);
  }
  const e = new Int32Array(grid + 1);
  for (let i = 0; i <= grid; i++) e[i] = Math.floor((i * size) / grid);
  return e;
}

/** Per-channel mean of an (size, size, 3) input: the occluding patch's colour (a neutral grey of the image). */
export function fillColour(input) {
  const sum = [0, 0, 0];
  for (let p = 0; p < input.length; p += 3) {
    sum[0] += input[p];
    sum[1] += input[p + 1];
    sum[2] += input[p + 2];
  }
  const n = input.length / 3;
  return sum.map((s) => s / n);
}

/**
 * Write copies of `input`, each with one cell covered by the patch, into `out` (a batch).
 *
 * @param {Float32Array} input  (size, size, 3)
 * @param {number} size
 * @param {Int32Array} edges  from cellEdges
 * @param {number[]} cells  cell indices (row-major: r · grid + c)
 * @param {number[]} fill  patch colour (R, G, B)
 * @param {Float32Array} out  (cells.length, size, size, 3)
 */
export function occludedBatch(input, size, edges, cells, fill, out) {
  const grid = edges.length - 1;
  const plane = size * size * 3;
  cells.forEach((cell, b) => {
    const o = b * plane;
    out.set(input, o);
    const r = Math.floor(cell / grid);
    const c = cell % grid;
    for (let y = edges[r]; y < edges[r + 1]; y++) {
      for (let x = edges[c]; x < edges[c + 1]; x++) {
        const q = o + (y * size + x) * 3;
        out[q] = fill[0];
        out[q + 1] = fill[1];
        out[q + 2] = fill[2];
      }
    }
  });
}

/**
 * RGBA overlay of an occlusion map: red where covering a cell lowers the OD450 (the region pushes the
 * prediction up), blue where it raises it; opacity ∝ |drop| / max |drop|.
 *
 * @param {ArrayLike<number>} map  (grid, grid) OD450 drops, row-major
 * @param {number} grid
 * @returns {{rgba: Uint8ClampedArray, scale: number}}  (grid, grid, 4) and the max |drop| (OD450)
 */
export function overlayRGBA(map, grid) {
  let scale = 0;
  for (const v of map) scale = Math.max(scale, Math.abs(v));
  const rgba = new Uint8ClampedArray(grid * grid * 4);
  for (let i = 0; i < grid * grid; i++) {
    const v = scale > 0 ? map[i] / scale : 0;
    rgba[i * 4] = v > 0 ? 230 : 30;
    rgba[i * 4 + 1] = 40;
    rgba[i * 4 + 2] = v > 0 ? 30 : 230;
    rgba[i * 4 + 3] = Math.round(Math.abs(v) * 170);
  }
  return { rgba, scale };
}
