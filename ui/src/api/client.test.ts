import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from './client';

/** A fetch that answers each call with the next status and counts calls. */
function recordingFetch(statuses: number[]) {
  const calls: string[] = [];
  const impl = (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${String(input)}`);
    const status = statuses.shift() ?? 200;
    return Promise.resolve(new Response(JSON.stringify({ n: calls.length }), { status }));
  };
  return { calls, impl: impl as typeof fetch };
}

describe('ApiClient.prefetch', () => {
  it('answers the first matching get from the prefetch, and the next one from Central', async () => {
    const f = recordingFetch([200, 200]);
    const api = new ApiClient(f.impl);
    api.prefetch('/v1/alerts/summary', { state: 'ACTIVE', groupBy: 'severity' });
    expect(await api.get('/v1/alerts/summary', { state: 'ACTIVE', groupBy: 'severity' })).toEqual({ n: 1 });
    expect(await api.get('/v1/alerts/summary', { state: 'ACTIVE', groupBy: 'severity' })).toEqual({ n: 2 });
    expect(f.calls).toEqual([
      'GET /v1/alerts/summary?state=ACTIVE&groupBy=severity',
      'GET /v1/alerts/summary?state=ACTIVE&groupBy=severity',
    ]);
  });

  it('does not serve a different query from a prefetch', async () => {
    const f = recordingFetch([]);
    const api = new ApiClient(f.impl);
    api.prefetch('/v1/alerts/summary', { cluster: 'a' });
    await api.get('/v1/alerts/summary', { cluster: 'b' });
    expect(f.calls).toEqual(['GET /v1/alerts/summary?cluster=a', 'GET /v1/alerts/summary?cluster=b']);
  });

  it('asks again when the prefetched answer was a refusal', async () => {
    const f = recordingFetch([401, 200]);
    const api = new ApiClient(f.impl);
    api.prefetch('/v1/auth/status');
    expect(await api.get('/v1/auth/status')).toEqual({ n: 2 });
  });

  it('hands over an answer that has arrived once, and nothing before it arrives', async () => {
    let answer: (r: Response) => void = () => {};
    const calls: string[] = [];
    const impl = ((input: RequestInfo | URL) => {
      calls.push(String(input));
      return new Promise<Response>((resolve) => (answer = resolve));
    }) as typeof fetch;
    const api = new ApiClient(impl);
    api.prefetch('/v1/alerts/summary', { state: 'ACTIVE' });
    expect(api.take('/v1/alerts/summary', { state: 'ACTIVE' })).toBeUndefined();
    answer(new Response(JSON.stringify({ total: 3 }), { status: 200 }));
    await vi.waitFor(() => expect(api.take('/v1/alerts/summary', { state: 'ACTIVE' })).toEqual({ total: 3 }));
    expect(api.take('/v1/alerts/summary', { state: 'ACTIVE' })).toBeUndefined();
    expect(calls).toEqual(['/v1/alerts/summary?state=ACTIVE']);
  });

  it('settles when every prefetch has answered, or at the deadline', async () => {
    let answer: (r: Response) => void = () => {};
    const api = new ApiClient((() => new Promise<Response>((resolve) => (answer = resolve))) as typeof fetch);
    await api.settled(10); // nothing in flight
    api.prefetch('/v1/auth/status');
    let done = false;
    const settled = api.settled(60_000).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    answer(new Response('{}', { status: 200 }));
    await settled;
    expect(api.take('/v1/auth/status')).toEqual({});
    api.prefetch('/v1/alerts/summary');
    const started = Date.now();
    await api.settled(20); // never answered: the deadline
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('never hands over a refusal or an answer that is not JSON', async () => {
    const f = recordingFetch([401]);
    const api = new ApiClient(f.impl);
    api.prefetch('/v1/auth/status');
    await new Promise((r) => setTimeout(r, 0));
    expect(api.take('/v1/auth/status')).toBeUndefined();
    const bad = new ApiClient((() => Promise.resolve(new Response('<html>', { status: 200 }))) as typeof fetch);
    bad.prefetch('/v1/auth/status');
    await new Promise((r) => setTimeout(r, 0));
    expect(bad.take('/v1/auth/status')).toBeUndefined();
  });

  it('drops prefetched answers when a call changes something', async () => {
    vi.stubGlobal('document', { cookie: '' }); // where the CSRF token is read from
    const f = recordingFetch([]);
    const api = new ApiClient(f.impl);
    api.prefetch('/v1/auth/status');
    await api.post('/v1/auth/login', { token: 't' }, { expectUnauthorized: true });
    await api.get('/v1/auth/status');
    expect(f.calls).toEqual(['GET /v1/auth/status', 'POST /v1/auth/login', 'GET /v1/auth/status']);
  });
});
