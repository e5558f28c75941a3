/**
 * Bounds on one template render. Templates are user-authored (and will come from an API), and
 * the data they loop over comes from triggers, so every render is bounded in time, memory and
 * output, in a render process that can be thrown away (render-pool.ts). Each layer backs the
 * previous one up: liquidjs' own limits stop the usual abuse with a clear error, the hard
 * timeout and the render process's heap limit stop whatever slips past them without touching the
 * process that serves the API.
 */

/** Liquid time budget of one render request (all the fields rendered together), liquidjs `renderLimit`. */
export const RENDER_TIME_LIMIT_MS = 1_000;

/**
 * After this long the render process is killed and replaced, whatever it is doing (a filter
 * or a loop liquidjs does not check the clock in). Covers copying the variables in, too.
 */
export const RENDER_HARD_TIMEOUT_MS = 2_000;

/**
 * How long a render process may take to start (load its code) before it is replaced. Generous:
 * on a loaded machine loading takes seconds, and no render is timed before the process is ready.
 */
export const RENDER_WORKER_START_TIMEOUT_MS = 60_000;

/** Heap of each render process (`--max-old-space-size`); above it that process dies, not Herald. */
export const RENDER_WORKER_HEAP_MB = 128;

/**
 * liquidjs `memoryLimit`: what one render may allocate in liquidjs' own units (range items,
 * characters built by filters such as append/join/json). Above trigger data's 10 MB so
 * `{{ data | json }}` always fits.
 */
export const RENDER_MEMORY_LIMIT = 16_000_000;

/** Longest text one field may render to (characters); above it the render fails. */
export const RENDER_OUTPUT_MAX_CHARS = 16 * 1024 * 1024;

/** liquidjs `parseLimit`: longest template source accepted (characters). */
export const TEMPLATE_SOURCE_MAX_CHARS = 1_000_000;

/** Render processes per Herald process. Two, so one abusive template never holds every render up. */
export const RENDER_WORKERS = 2;

/** How deep `{% render %}` may nest partials; deeper fails (a partial that renders itself). */
export const PARTIAL_MAX_DEPTH = 16;

/** How many partial renders one template field may make in all (loops over partials included). */
export const PARTIAL_MAX_RENDERS = 10_000;

/** Longest partial content accepted (characters). */
export const PARTIAL_MAX_CHARS = 256 * 1024;

/** Longest translation file accepted (characters of its JSON content). */
export const TRANSLATION_MAX_CHARS = 256 * 1024;

/**
 * Most partial and translation text one render may carry to a render process (characters);
 * above it the render fails rather than filling the render process's heap.
 */
export const RENDER_CONTENT_MAX_CHARS = 4 * 1024 * 1024;
