// Reads what client-node request options would do to a request, for fakes of its generated APIs.
import type { RequestContext, setHeaderOptions } from '@kubernetes/client-node';

/** Runs the request middleware client-node would run, and reports the Content-Type it sets. */
export function contentTypeSetBy(
  options: ReturnType<typeof setHeaderOptions> | undefined,
): string | undefined {
  const headers: Record<string, string> = {};
  const request = {
    setHeaderParam: (key: string, value: string) => {
      headers[key] = value;
    },
  };
  // The middleware only calls setHeaderParam; a whole RequestContext would need a URL and an HTTP method.
  for (const m of options?.middleware ?? []) void m.pre(request as unknown as RequestContext);
  return headers['Content-Type'];
}
