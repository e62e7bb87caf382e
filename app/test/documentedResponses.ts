import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** The parts of an OpenAPI document the check reads. */
interface Header {
  required?: boolean;
  schema?: object;
  $ref?: string;
}
interface ResponseObject {
  $ref?: string;
  headers?: Record<string, Header>;
  content?: Record<string, { schema: object }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: { responses: Record<string, ResponseObject>; headers: Record<string, Header> };
}

// ajv-formats is CommonJS: its function is the default export's default under Node's ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

const DOC_ID = 'openapi.json';
/** A JSON pointer segment. */
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks answers against an OpenAPI document: the status is documented for the route and method (an
 * undocumented path must be the `NotFound` answer, an undocumented method on a documented path the
 * `MethodNotAllowed` one), every required header is present and matches its schema, and the JSON body
 * matches its schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
export class DocumentedResponses {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #paths: { template: string; pattern: RegExp }[];
  readonly #doc: OpenApiDocument;

  constructor(doc: OpenApiDocument) {
    this.#doc = doc;
    addFormats(this.#ajv);
    this.#ajv.addSchema(doc as object, DOC_ID);
    this.#paths = Object.keys(doc.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`),
    }));
  }

  /** The problems of `res` as an answer to `method url`; empty when it is documented. */
  async problems(method: string, url: string, res: Response): Promise<string[]> {
    const where = `${method} ${url} -> ${res.status}`;
    const found = this.#response(method, new URL(url, 'http://gateway').pathname, res.status);
    if (typeof found === 'string') return [`${where}: ${found}`];
    const out = this.#headerProblems(found.response, res).map((p) => `${where}: ${p}`);
    const json = found.response.content?.['application/json'];
    if (json && method !== 'HEAD') {
      if (!/^application\/json\b/.test(res.headers.get('content-type') ?? '')) out.push(`${where}: content-type ${res.headers.get('content-type')}`);
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return [...out, `${where}: the body is not JSON: ${text.slice(0, 200)}`];
      }
      const validate = this.#validator(`${found.pointer}/content/application~1json/schema`);
      if (!validate(body)) out.push(`${where}: body ${JSON.stringify(validate.errors?.slice(0, 3))} in ${text.slice(0, 300)}`);
    }
    return out;
  }

  /** The documented response for the status, with the JSON pointer of its object, or why there is none. */
  #response(method: string, path: string, status: number): { response: ResponseObject; pointer: string } | string {
    const template = this.#paths.find((p) => p.pattern.test(path))?.template;
    if (template === undefined) return status === 404 ? this.#resolve('#/components/responses/NotFound') : `undocumented path ${path}`;
    const op = this.#doc.paths[template]![method.toLowerCase()];
    if (!op) return status === 405 ? this.#resolve('#/components/responses/MethodNotAllowed') : `${method} is not documented on ${template}, and the answer is not 405`;
    const response = op.responses[String(status)];
    if (!response) return `status ${status} is not documented for ${method} ${template}`;
    const pointer = `#/paths/${esc(template)}/${method.toLowerCase()}/responses/${status}`;
    return response.$ref ? this.#resolve(response.$ref) : { response, pointer };
  }

  #resolve(ref: string): { response: ResponseObject; pointer: string } {
    const name = ref.split('/').pop()!;
    return { response: this.#doc.components.responses[name]!, pointer: ref };
  }

  #headerProblems(response: ResponseObject, res: Response): string[] {
    const out: string[] = [];
    for (const [name, h] of Object.entries(response.headers ?? {})) {
      const refName = h.$ref?.split('/').pop();
      const header = refName ? this.#doc.components.headers[refName]! : h;
      const value = res.headers.get(name);
      if (value === null) {
        if (header.required) out.push(`header ${name} is missing`);
        continue;
      }
      const schema = header.schema as { type?: string } | undefined;
      if (!schema) continue;
      const pointer = refName ? `#/components/headers/${esc(refName)}/schema` : undefined;
      const validate = pointer ? this.#validator(pointer) : this.#ajv.compile(schema);
      const typed = schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (!validate(typed)) out.push(`header ${name}: ${value} does not match ${JSON.stringify(schema)}`);
    }
    return out;
  }

  #validator(pointer: string): ValidateFunction {
    let v = this.#compiled.get(pointer);
    if (!v) {
      v = this.#ajv.compile({ $ref: `${DOC_ID}${pointer}` });
      this.#compiled.set(pointer, v);
    }
    return v;
  }
}
