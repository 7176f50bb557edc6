/**
 * Following a run's output in the console (SPEC §17): the SSE stream read with fetch(), so the
 * token travels in the Authorization header (EventSource cannot send it, and a token in a URL
 * leaks into logs). Resumes with Last-Event-ID when the connection drops or the daemon drops
 * this follower; keeps the last KEEP_CHARS characters on screen.
 */
import { useEffect, useState } from 'preact/hooks';
import { storedToken } from './api.js';

const KEEP_CHARS = 64 * 1024;

export interface LiveOutputState {
  text: string;
  ended: { status: string; exit_code: number | null } | null;
  error: string | null;
}

export function useLiveOutput(id: string, onEnd?: () => void): LiveOutputState {
  const [state, setState] = useState<LiveOutputState>({ text: '', ended: null, error: null });
  useEffect(() => {
    const stop = new AbortController();
    let lastId: string | null = null;
    let text = '';
    const show = (patch: Partial<LiveOutputState>) => setState((s) => ({ ...s, text, ...patch }));
    const follow = async () => {
      for (let failures = 0; !stop.signal.aborted && failures < 20; failures++) {
        const headers: Record<string, string> = { Accept: 'text/event-stream' };
        const token = storedToken();
        if (token !== null) headers.Authorization = `Bearer ${token}`;
        if (lastId !== null) headers['Last-Event-ID'] = lastId;
        try {
          const res = await fetch(`/api/v1/runs/${encodeURIComponent(id)}/output/stream`, {
            headers,
            signal: stop.signal,
          });
          if (!res.ok || !res.body) {
            show({ error: `Cannot follow the output (HTTP ${res.status})` });
            if (res.status < 500) return;
          } else {
            const ended = await readEvents(res.body, (event, data, eventId) => {
              if (event === 'output') {
                lastId = eventId;
                text = (text + (JSON.parse(data) as { text: string }).text).slice(-KEEP_CHARS);
                show({ error: null });
              }
            });
            if (ended) {
              show({ ended });
              onEnd?.();
              return;
            }
          }
        } catch {
          if (stop.signal.aborted) return;
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * (failures + 1))));
      }
    };
    void follow();
    return () => stop.abort();
  }, [id]);
  return state;
}

/** Reads SSE events until `end` (resolves its data) or the stream stops (resolves null). */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string, id: string | null) => void,
): Promise<LiveOutputState['ended']> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buf += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      let data = '';
      let eventId: string | null = null;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
        else if (line.startsWith('id: ')) eventId = line.slice(4);
      }
      if (event === 'end') {
        void reader.cancel();
        return JSON.parse(data) as LiveOutputState['ended'];
      }
      if (event === 'dropped') {
        void reader.cancel();
        return null;
      }
      onEvent(event, data, eventId);
    }
  }
}
