// The typed client of Central's REST API. Every call goes to the same
// origin with the session cookie; calls that change something carry the
// session's CSRF token, read from the cookie Central set at sign-in. A
// failed call throws an ApiError carrying the API's {"error", "details"}
// body.

/** One problem in a request, by field path, as the API reports it. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** A failed API call: the HTTP status and the API's error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly details: ErrorDetail[];

  constructor(status: number, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.details = details;
  }

  /** The network failed or the server sent something that is not the API. */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

/** The cookie holding the session's CSRF token, and the header it goes in. */
export const CSRF_COOKIE = '__Host-stockade-csrf';
export const CSRF_HEADER = 'X-Stockade-CSRF';

/** Reads the CSRF token from document.cookie (undefined when signed out). */
export function csrfToken(cookies: string = document.cookie): string | undefined {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === CSRF_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? undefined : decodeURIComponent(value);
    }
  }
  return undefined;
}

/** Query parameters; undefined, null and '' are left out. */
export type Query = Record<string, string | number | boolean | undefined | null>;

/** Builds a path with its query string. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** A 401 is an answer (a wrong password), not a lost session. */
  expectUnauthorized?: boolean;
}

type Listener = () => void;

/** How long a prefetched answer waits for the call that wants it. */
const PREFETCH_TTL_MS = 10_000;

/** A GET started early (ApiClient.prefetch): its parsed answer once here. */
interface Prefetch {
  /** Resolves to the answer, or undefined when it failed or was refused. */
  answer: Promise<unknown>;
  arrived: boolean;
  data?: unknown;
}

/** ApiClient talks to Central; one instance serves the whole application. */
export class ApiClient {
  private readonly unauthorizedListeners = new Set<Listener>();
  private readonly fetchImpl: typeof fetch;
  private readonly prefetched = new Map<string, Prefetch>();

  constructor(fetchImpl: typeof fetch = (input, init) => fetch(input, init)) {
    this.fetchImpl = fetchImpl;
  }

  /**
   * Calls listener whenever a call finds the session gone (401), so the
   * application can send the user to the sign-in page. Returns the
   * function that removes it.
   */
  onUnauthorized(listener: Listener): () => void {
    this.unauthorizedListeners.add(listener);
    return () => this.unauthorizedListeners.delete(listener);
  }

  /**
   * Starts a GET now, before the page that needs it has loaded its code:
   * the first get of the same path and query within 10 seconds takes its
   * answer instead of asking again, and take can hand it over at once
   * once it is here. At start-up the session check and the first page's
   * data then load alongside the page's code, not after it. Only a
   * successful JSON answer is used (any other is asked again), and any
   * call that changes something (signing in, too) drops what was fetched.
   */
  prefetch(path: string, query?: Query): void {
    const url = withQuery(path, query);
    if (this.prefetched.has(url)) return;
    const entry: Prefetch = {
      arrived: false,
      answer: this.fetchImpl(url, { method: 'GET', headers: requestHeaders('GET'), credentials: 'same-origin' })
        .then(async (resp) => (resp.ok && resp.status !== 204 ? (JSON.parse(await resp.text()) as unknown) : undefined))
        // A failed prefetch is asked again by the call that wants it.
        .catch(() => undefined)
        .then((data) => {
          entry.data = data;
          entry.arrived = data !== undefined;
          if (data === undefined && this.prefetched.get(url) === entry) this.prefetched.delete(url);
          return data;
        }),
    };
    this.prefetched.set(url, entry);
    setTimeout(() => {
      if (this.prefetched.get(url) === entry) this.prefetched.delete(url);
    }, PREFETCH_TTL_MS);
  }

  /**
   * Resolves once every prefetch started so far has its answer (or has
   * failed), or after ms at most. The application waits for it before its
   * first render, which then shows the session and the first page's data
   * instead of loading states that a second render replaces.
   */
  settled(ms: number): Promise<void> {
    const answers = Promise.all([...this.prefetched.values()].map((e) => e.answer)).then(() => undefined);
    return Promise.race([answers, new Promise<void>((resolve) => setTimeout(resolve, ms))]);
  }

  /**
   * The answer of a prefetch of this GET if it has already arrived, taken
   * (the next call asks Central again); undefined otherwise. It lets a page
   * draw its data in its first render instead of a loading state first.
   */
  take<T>(path: string, query?: Query): T | undefined {
    const url = withQuery(path, query);
    const entry = this.prefetched.get(url);
    if (!entry?.arrived) return undefined;
    this.prefetched.delete(url);
    return entry.data as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  post<T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('POST', path, { ...opts, body });
  }

  patch<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('PATCH', path, { body, signal });
  }

  delete<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('DELETE', path, { signal });
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers = requestHeaders(method);
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const url = withQuery(path, opts.query);
    let resp: Response | undefined;
    try {
      if (method === 'GET') {
        const early = this.prefetched.get(url);
        this.prefetched.delete(url);
        const data = early && (await early.answer);
        opts.signal?.throwIfAborted();
        if (data !== undefined) return data as T;
      } else {
        this.prefetched.clear();
      }
      resp ??= await this.fetchImpl(url, {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, `Central could not be reached: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (resp.status === 204) return undefined as T;
    const text = await resp.text();
    let data: unknown;
    try {
      data = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(resp.ok ? 0 : resp.status, `Central sent a response that is not JSON (HTTP ${resp.status}).`);
    }
    if (!resp.ok) {
      const err = toApiError(resp.status, data);
      if (resp.status === 401 && !opts.expectUnauthorized) {
        this.unauthorizedListeners.forEach((l) => l());
      }
      throw err;
    }
    return data as T;
  }
}

function requestHeaders(method: string): Record<string, string> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    // Central answers 401 without a Basic challenge to scripts, so the
    // browser shows no password dialog of its own.
    'X-Requested-With': 'XMLHttpRequest',
  };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken();
    if (token) headers[CSRF_HEADER] = token;
  }
  return headers;
}

function toApiError(status: number, data: unknown): ApiError {
  if (data && typeof data === 'object' && 'error' in data && typeof data.error === 'string') {
    const details = 'details' in data && Array.isArray(data.details) ? (data.details as ErrorDetail[]) : [];
    return new ApiError(status, data.error, details);
  }
  return new ApiError(status, `Central answered HTTP ${status}.`);
}

/** A message for a failed call, in words for the person using the dashboard. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return `You are not allowed to do this: ${err.message}`;
    if (err.status >= 500) return `Central failed: ${err.message}`;
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
