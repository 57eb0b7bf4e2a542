// A kept model as files in the `models/<id>/` format the server reads (docs/model-card.md): card.json,
// head/model.json (TF.js layers model) and head/group1-shard1of1.bin. Exported as those files or as one zip
// (stored, uncompressed: the weights do not compress); imported from the same files (a dropped folder) or the
// zip. A server serves the model when the folder is placed in its models directory beside the backbone.
// Pure: no DOM, no TF.js.
import { CARD_SCHEMA, HEAD_FILE, HEAD_WEIGHTS } from './card.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The model's files, paths relative to the models directory.
 *
 * @param {{card: object, head: {modelTopology: object, weightSpecs: object[], weightData: ArrayBuffer}}} record
 * @returns {{path: string, bytes: Uint8Array}[]}
 */
export function exportFiles({ card, head }) {
  const folder = card.id;
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'nostain (trained in the browser)',
    convertedBy: null,
    modelTopology: head.modelTopology,
    weightsManifest: [{ paths: [HEAD_WEIGHTS], weights: head.weightSpecs }],
  };
  const headDir = HEAD_FILE.split('/').slice(0, -1).join('/');
  return [
    { path: `${folder}/card.json`, bytes: encoder.encode(`${JSON.stringify(card)}\n`) },
    { path: `${folder}/${HEAD_FILE}`, bytes: encoder.encode(JSON.stringify(modelJson)) },
    { path: `${folder}/${headDir}/${HEAD_WEIGHTS}`, bytes: new Uint8Array(head.weightData) },
  ];
}

/**
 * A model from its files (exportFiles' output, or a dropped `models/<id>/` folder).
 *
 * @param {{path: string, bytes: Uint8Array}[]} files  paths ending in card.json, head/model.json and the
 *   weight files model.json names
 * @returns {{card: object, head: {modelTopology: object, weightSpecs: object[], weightData: ArrayBuffer}}}
 * @throws {Error}  a missing file or a card this page cannot load, in plain words
 */
export function importFiles(files) {
  const find = (suffix) => files.find((f) => f.path === suffix || f.path.endsWith(`/${suffix}`));
  const cardFile = find('card.json');
  if (!cardFile) throw new Error('no card.json among the files: import the model folder (models/<id>/)');
  const card = JSON.parse(decoder.decode(cardFile.bytes));
  if (card.schema !== CARD_SCHEMA) {
    throw new Error(`card.json is ${card.schema ?? 'not a model card'}; this page imports ${CARD_SCHEMA}`);
  }
  if (card.head?.format !== 'tfjs_layers_model') {
    throw new Error(
      `the model's head is ${card.head?.format}: only heads trained in the browser import here`,
    );
  }
  const modelFile = find(card.head.model_file);
  if (!modelFile) throw new Error(`the head ${card.head.model_file} is missing`);
  const modelJson = JSON.parse(decoder.decode(modelFile.bytes));
  const headDir = card.head.model_file.split('/').slice(0, -1).join('/');
  const parts = modelJson.weightsManifest.flatMap((group) =>
    group.paths.map((name) => {
      const file = find(`${headDir}/${name}`);
      if (!file) throw new Error(`the head's weights ${headDir}/${name} are missing`);
      return file.bytes;
    }),
  );
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    weightData.set(part, offset);
    offset += part.length;
  }
  return {
    card,
    head: {
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer,
    },
  };
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (ISO-HDLC, as zip uses) of bytes. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * One zip of files, stored (method 0).
 *
 * @param {{path: string, bytes: Uint8Array}[]} files
 * @returns {Uint8Array}
 */
export function zipFiles(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { path, bytes } of files) {
    const name = encoder.encode(path);
    const crc = crc32(bytes);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // UTF-8 names
    local.setUint32(14, crc, true);
    local.setUint32(18, bytes.length, true);
    local.setUint32(22, bytes.length, true);
    local.setUint16(26, name.length, true);
    locals.push(new Uint8Array(local.buffer), name, bytes);
    const central = new DataView(new ArrayBuffer(46));
    central.setUint32(0, 0x02014b50, true);
    central.setUint16(4, 20, true);
    central.setUint16(6, 20, true);
    central.setUint16(8, 0x0800, true);
    central.setUint32(16, crc, true);
    central.setUint32(20, bytes.length, true);
    central.setUint32(24, bytes.length, true);
    central.setUint16(28, name.length, true);
    central.setUint32(42, offset, true);
    centrals.push(new Uint8Array(central.buffer), name);
    offset += 30 + name.length + bytes.length;
  }
  const size = centrals.reduce((n, part) => n + part.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, size, true);
  end.setUint32(16, offset, true);
  const parts = [...locals, ...centrals, new Uint8Array(end.buffer)];
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The files of a zip whose entries are stored (as zipFiles writes them); checks every CRC.
 *
 * @param {Uint8Array} zip
 * @returns {{path: string, bytes: Uint8Array}[]}
 */
export function unzipFiles(zip) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip file');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error('the zip file is damaged');
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const path = decoder.decode(zip.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + skip;
    if (path.endsWith('/')) continue;
    if (method !== 0) {
      throw new Error(`${path} is compressed in the zip: unzip it and import the model's folder instead`);
    }
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const bytes = zip.slice(start, start + size);
    if (crc32(bytes) !== crc) throw new Error(`${path} is damaged in the zip (CRC mismatch)`);
    files.push({ path, bytes });
  }
  return files;
}
