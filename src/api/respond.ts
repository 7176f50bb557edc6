import type { Response } from 'express';

/**
 * JSON answers written straight to the response. express's res.json/res.send would also
 * negotiate the content type, check freshness and consider an ETag (all off in this API): on
 * the hot read routes that machinery cost about as much as building the body.
 */
export function sendJson(res: Response, value: unknown, status = 200): void {
  sendJsonText(res, JSON.stringify(value), status);
}

/** A body that is JSON text already (e.g. serialized by the store). */
export function sendJsonText(res: Response, text: string, status = 200): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
