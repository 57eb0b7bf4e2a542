// A well imaged at several fields (sites): the images of one plate and well ID, named by an instrument,
// are one well. Its predicted OD450 is the mean of its fields' predictions (the fields the person did not
// leave out); each field keeps its own prediction, thumbnail and flags (fieldFlags names them). An image
// with a plain name is a well of its own, as before. Pure functions on the session's image records
// (session.js newWell).

/**
 * The well an image belongs to: plate and well ID for an instrument's images, the image itself otherwise.
 *
 * @param {{id: number, plate: string, well: string, site: object|null}} image
 * @returns {string}
 */
export function wellKey(image) {
  return image.site?.well ? JSON.stringify([image.plate, image.site.well]) : `#${image.id}`;
}

/** The state of a well from its fields': scoring goes on while any is queued or scoring. */
function wellStatus(images) {
  const statuses = new Set(images.map((i) => i.status));
  for (const status of ['scoring', 'queued', 'done', 'error']) if (statuses.has(status)) return status;
  return 'problem';
}

/** Why a well has no prediction: its field's problem, or each field's. */
function wellProblem(images) {
  const failed = images.filter((i) => i.problem);
  if (!failed.length) return null;
  if (images.length === 1) return failed[0].problem.message;
  return `no field could be scored: ${failed.map((i) => `${i.name}: ${i.problem.message}`).join('; ')}`;
}

const mean = (values) => values.reduce((s, v) => s + v, 0) / values.length;

/**
 * The wells of a list of images, in the order of their first image.
 *
 * @param {object[]} images  a curve's image records (curve.wells)
 * @returns {{key: string, id: number, rep: object, images: object[], used: object[], status: string,
 *   od450: number|null, problem: string|null}[]}
 *   rep: the first image, which holds the well's own state (exclusion, control kind, typed concentration);
 *   id: rep's id; used: the scored fields in the mean; od450: their mean (OD450), null while none is scored;
 *   status 'done' once every field is scored and at least one is used
 */
export function groupFields(images) {
  const groups = new Map();
  for (const image of images) {
    const key = wellKey(image);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(image);
  }
  return [...groups].map(([key, members]) => {
    const used = members.filter((i) => i.status === 'done' && !i.fieldLeftOut);
    let status = wellStatus(members);
    let problem = ['problem', 'error'].includes(status) ? wellProblem(members) : null;
    if (status === 'done' && !used.length) {
      status = 'problem';
      problem = 'every field is left out';
    }
    return {
      key,
      id: members[0].id,
      rep: members[0],
      images: members,
      used,
      status,
      od450: status === 'done' ? mean(used.map((i) => i.od450)) : null,
      problem,
    };
  });
}

/** A well's name for people: its file name, or "plate · B07 (3 fields)". */
export function wellName(group) {
  if (group.images.length === 1) return group.rep.name;
  const place = [group.rep.plate, group.rep.well].filter(Boolean).join(' · ');
  return `${place} (${group.images.length} fields)`;
}

/** A field's name for people: "field 2 (B07_s2.tif)". */
export function fieldName(image, index) {
  return `field ${image.field ?? index + 1} (${image.name})`;
}

/**
 * What a well's fields say: a single image's trust flags and warnings; for several fields, the mean they
 * make and each field's flags, problem or exclusion, named.
 *
 * @param {{images: object[], used: object[]}} group  a groupFields entry
 * @returns {string[]}
 */
export function fieldFlags(group) {
  const own = (image) => [...(image.trustFlags ?? []), ...(image.warnings ?? [])];
  if (group.images.length === 1) return own(group.images[0]);
  const values = group.used.map((i) => i.od450.toFixed(3)).join(', ');
  const flags = [`mean of ${group.used.length} of ${group.images.length} fields (OD450 ${values})`];
  group.images.forEach((image, k) => {
    const name = fieldName(image, k);
    if (image.problem) flags.push(`${name} not scored: ${image.problem.message}`);
    else if (image.fieldLeftOut) flags.push(`${name} left out of the mean by the user`);
    for (const flag of own(image)) flags.push(`${name}: ${flag}`);
  });
  return flags;
}
