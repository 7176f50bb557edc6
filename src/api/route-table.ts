import { ApiError } from './errors.js';
import type { ApiRoute } from './routes.js';

/** The routes that share one path, and the path parameters of a request that matched it. */
export interface PathMatch {
  routes: readonly ApiRoute[];
  params: Record<string, string>;
}

interface Pattern {
  /** A literal segment, or the name of a parameter (`:name` in the route path). */
  segments: { literal: string | null; param: string | null }[];
  routes: ApiRoute[];
}

/**
 * Finds the routes of a request path in one map lookup (static paths) or a walk over the few
 * parameterised paths with the same number of segments. express's router instead tries every
 * mounted route's regular expression in turn, which cost more than the work of the hot read
 * routes. Matching follows express's defaults here: case-sensitive, one optional trailing slash,
 * parameters percent-decoded (a malformed escape is a 400).
 */
export class RouteTable {
  private readonly exact = new Map<string, ApiRoute[]>();
  private readonly patterns = new Map<number, Pattern[]>();

  constructor(routes: readonly ApiRoute[]) {
    for (const route of routes) this.add(route);
  }

  /** null when no route has this path (whatever the method). */
  match(path: string): PathMatch | null {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const routes = this.exact.get(trimmed);
    if (routes) return { routes, params: {} };
    const segments = trimmed.split('/');
    for (const pattern of this.patterns.get(segments.length) ?? []) {
      const params = matchSegments(pattern, segments);
      if (params) return { routes: pattern.routes, params };
    }
    return null;
  }

  private add(route: ApiRoute): void {
    if (!route.path.includes(':')) {
      this.exact.set(route.path, [...(this.exact.get(route.path) ?? []), route]);
      return;
    }
    const segments = route.path.split('/');
    const list = this.patterns.get(segments.length) ?? [];
    this.patterns.set(segments.length, list);
    const same = list.find((p) => p.routes[0]!.path === route.path);
    if (same) same.routes.push(route);
    else list.push({ segments: segments.map(parseSegment), routes: [route] });
  }
}

function parseSegment(segment: string): Pattern['segments'][number] {
  return segment.startsWith(':')
    ? { literal: null, param: segment.slice(1) }
    : { literal: segment, param: null };
}

function matchSegments(pattern: Pattern, segments: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const want = pattern.segments[i]!;
    const got = segments[i]!;
    if (want.literal !== null) {
      if (got !== want.literal) return null;
    } else if (got === '') return null;
    else params[want.param!] = decodeParam(got);
  }
  return params;
}

function decodeParam(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, 'bad_request', 'api: malformed percent-encoding in the URL');
  }
}
