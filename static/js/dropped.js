// The files a person hands the page — dropped files and folders, or picked with a file or folder input — as
// {file, path} pairs, the path relative to what was dropped ("plate1/B07/img.tif", as webkitRelativePath).
// Folders are walked with the File and Directory Entries API (webkitGetAsEntry). No DOM, no session.

/** Read every entry of a directory (a reader hands them out in batches, 100 at a time in Chromium). */
async function readAll(directory) {
  const reader = directory.createReader();
  const entries = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return entries;
    entries.push(...batch);
  }
}

/**
 * Every file below some file-system entries, depth first, each with its path.
 *
 * @param {Array<{isFile: boolean, isDirectory: boolean, name: string, fullPath: string}>} entries
 *   FileSystemEntry objects (of a drop)
 * @returns {Promise<{files: {file: File, path: string}[], unreadable: {path: string, reason: string}[]}>}
 *   path without the leading "/"; unreadable: the entries that could not be read (e.g. removed meanwhile)
 */
export async function filesOfEntries(entries) {
  const files = [];
  const unreadable = [];
  const visit = async (entry) => {
    const path = entry.fullPath.replace(/^\/+/, '') || entry.name;
    try {
      if (entry.isFile) {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        files.push({ file, path });
      } else if (entry.isDirectory) {
        for (const child of await readAll(entry)) await visit(child);
      }
    } catch (err) {
      unreadable.push({ path, reason: `could not be read (${err?.message ?? err})` });
    }
  };
  for (const entry of entries) await visit(entry);
  return { files, unreadable };
}

/**
 * The files of a drop, folders walked. Call it in the drop event's handler, before any `await`: the
 * browser empties a DataTransfer when its event ends (the entries are taken synchronously here).
 *
 * @param {DataTransfer} dataTransfer
 * @returns {Promise<{files: {file: File, path: string}[], unreadable: {path: string, reason: string}[]}>}
 */
export function droppedFiles(dataTransfer) {
  const items = [...(dataTransfer.items ?? [])].filter((item) => item.kind === 'file');
  const entries = items.map((item) => item.webkitGetAsEntry?.() ?? null);
  if (!items.length || entries.some((entry) => entry === null)) {
    // No entries (an old browser, a synthetic drop): the plain file list, without folders.
    return Promise.resolve({ files: pickedFiles(dataTransfer.files), unreadable: [] });
  }
  return filesOfEntries(entries);
}

/**
 * The files of a file or folder input, each with its path inside the chosen folder.
 *
 * @param {FileList|File[]} fileList
 * @returns {{file: File, path: string}[]}
 */
export function pickedFiles(fileList) {
  return [...fileList].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}
