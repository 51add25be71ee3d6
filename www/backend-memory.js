// The measurements behind `backend=auto`, remembered in localStorage per build of the sampler,
// device, model and batch, so that a visit after the first does not measure again. A browser
// without storage (or one that refuses it) just measures again.

const PREFIX = "density-guidance:backend:";

/** The storage key of one measurement: a rebuilt module, another GPU or browser, another
 * model or batch each get their own. */
export function measurementKey({ build, device, model, batch }) {
  return `${PREFIX}${JSON.stringify([build, device, model, batch])}`;
}

function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // a sandboxed frame throws on the mere access
  }
}

/** The measurement stored under `key`, or null (none, unreadable, or not a measurement). */
export function recallMeasurement(key) {
  try {
    const stored = JSON.parse(storage()?.getItem(key) ?? "null");
    const isMeasurement = typeof stored?.cpu_ms_per_forward === "number";
    return isMeasurement ? stored : null;
  } catch {
    return null;
  }
}

export function rememberMeasurement(key, measurement) {
  try {
    storage()?.setItem(key, JSON.stringify(measurement));
  } catch {
    // full or refused: the next visit measures again
  }
}
