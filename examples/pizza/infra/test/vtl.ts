// A small emulation of an API Gateway AWS integration's response path, around a
// real Velocity engine (velocityjs): the integration response is selected by the
// backend's status code (SelectionPattern), its parameters set the static headers,
// its template renders the body with $input, $context and $util as API Gateway
// gives them, and $context.responseOverride applies last.
import { render } from 'velocityjs';

/** A Java String as the templates see it: replaceAll takes a Java regex. */
class JavaString {
  constructor(private readonly s: string) {}
  replaceAll(regex: string, replacement: string): JavaString {
    return new JavaString(this.s.replace(new RegExp(regex, 'g'), replacement));
  }
  toString(): string {
    return this.s;
  }
}

/** $util.escapeJavaScript: Apache Commons Lang's StringEscapeUtils.escapeJavaScript. */
export function escapeJavaScript(v: unknown): JavaString | null {
  if (v === null || v === undefined) return null; // Commons Lang: null in, null out
  let out = '';
  for (const ch of String(v)) {
    const c = ch.codePointAt(0)!;
    const unit = (u: number) => '\\u' + u.toString(16).toUpperCase().padStart(4, '0');
    if (ch === '"' || ch === "'" || ch === '\\' || ch === '/') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) {
      for (const u of ch.split('').map((x) => x.charCodeAt(0))) out += unit(u); // UTF-16 units, as Java
    } else out += ch;
  }
  return new JavaString(out);
}

/** $input.path's JSONPath subset: $, .name, [n]. */
function jsonPath(doc: unknown, p: string): unknown {
  if (!p.startsWith('$')) throw new Error(`unsupported path ${p}`);
  let cur: any = doc;
  for (const m of p.slice(1).matchAll(/\.([A-Za-z_][\w-]*)|\[(\d+)\]/g)) {
    if (cur == null) return undefined;
    cur = m[1] !== undefined ? cur[m[1]] : cur[Number(m[2])];
  }
  return cur;
}

/** A template as CloudFormation holds it (a string, or an Fn::Join around references), as a string. */
export function cfnString(v: any): string {
  if (typeof v === 'string') return v;
  if (v && v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'];
    return parts.map(cfnString).join(sep);
  }
  if (v && v.Ref) return `REF_${v.Ref}`;
  if (v && v['Fn::GetAtt']) return `ATT_${v['Fn::GetAtt'].join('_')}`;
  throw new Error(`unsupported CloudFormation value ${JSON.stringify(v)}`);
}

/** What a request looks like to a template. */
export interface Request {
  body?: unknown; // the JSON body (request templates) or the backend's reply (response templates)
  headers?: Record<string, string>;
  requestId?: string;
  requestTimeEpoch?: number;
  path?: string; // $context.path: the path the client called, the stage included
}

/** Renders one template; returns the output and the context's responseOverride. */
export function renderTemplate(tpl: unknown, req: Request): { out: string; override: { status?: number; header: Record<string, string> } } {
  const override: { status?: number; header: Record<string, string> } = { header: {} };
  const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const ctx = {
    input: {
      json: (p: string) => JSON.stringify(jsonPath(req.body, p) ?? null),
      path: (p: string) => {
        // A path the reply lacks is null, as API Gateway's JSONPath gives it.
        const v = jsonPath(req.body, p);
        return v === undefined ? null : v;
      },
      params: (name: string) => headers[name.toLowerCase()] ?? '',
    },
    context: { requestId: req.requestId ?? 'c0ffee00-0000-4000-8000-000000000001', requestTimeEpoch: req.requestTimeEpoch ?? 1767225600123,
      path: req.path ?? '/prod/orders', responseOverride: override },
    util: { escapeJavaScript },
  };
  const out = render(cfnString(tpl), ctx);
  return { out, override };
}

/** An answer as the client sees it. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The integration-response path of an AWS integration (CloudFormation Method properties). */
export function respond(method: any, backendStatus: number, backendBody: unknown, req: Request = {}): Answer {
  const irs: any[] = method.Integration.IntegrationResponses;
  const ir =
    irs.find((r) => r.SelectionPattern !== undefined && new RegExp(`^(?:${r.SelectionPattern})$`).test(String(backendStatus))) ??
    irs.find((r) => r.SelectionPattern === undefined || r.SelectionPattern === '');
  if (!ir) throw new Error(`no integration response for ${backendStatus}`);
  const declared = (status: string) => (method.MethodResponses as any[]).find((m) => m.StatusCode === status);
  if (!declared(ir.StatusCode)) throw new Error(`method response ${ir.StatusCode} not declared`);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  for (const [k, v] of Object.entries<string>(ir.ResponseParameters ?? {})) {
    const name = k.replace(/^method\.response\.header\./, '');
    if (!/^'.*'$/.test(v)) throw new Error(`only static header values are emulated: ${k}=${v}`);
    headers[name] = v.slice(1, -1);
  }
  const tpl = ir.ResponseTemplates?.['application/json'] ?? '';
  const { out, override } = renderTemplate(tpl, { ...req, body: backendBody });
  Object.assign(headers, override.header);
  return { status: override.status ?? Number(ir.StatusCode), headers, body: out.trim() };
}
