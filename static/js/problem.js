// A file that cannot become a model input: one class shared by the decoders (decode.js, tiff.js, bitmap.js).

/** A file that cannot become a model input; `kind` says why in one word, `message` in plain words. */
export class ImageProblem extends Error {
  /**
   * @param {'not_image'|'corrupt'|'unsupported'|'too_small'|'choose_channel'|'bad_option'} kind
   *   choose_channel: a multi-channel file with no channel named as transmitted light (`details.channels`
   *   lists them: the page asks the user and scores again with the worker's `channel` option);
   *   bad_option: a `plane` or `channel` the file does not have
   * @param {string} message
   * @param {object} [details]  e.g. {channels: [{index, name}]}
   */
  constructor(kind, message, details = {}) {
    super(message);
    this.name = 'ImageProblem';
    this.kind = kind;
    this.details = details;
  }
}
