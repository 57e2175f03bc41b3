/**
 * A deliberately small JSON Schema (draft 2020-12) checker for the subset the
 * wire protocol uses. It exists so that client input is validated against the
 * very schema we publish, without a validator dependency. Any keyword outside
 * the subset throws: silently ignoring a constraint would make the published
 * schema promise more than the server checks.
 */

export type JsonSchema = Readonly<Record<string, unknown>>;

const ANNOTATIONS = new Set(['$schema', '$id', '$defs', '$comment', 'title', 'description', 'examples', 'default']);
const SUPPORTED = new Set([
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'oneOf',
  'anyOf',
  '$ref',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new Error(`schema-check: unsupported type '${type}'`);
  }
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`schema-check: only local $refs are supported, got '${ref}'`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = isRecord(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  if (!isRecord(node)) throw new Error(`schema-check: unresolved $ref '${ref}'`);
  return node;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Checks `value` against `schema` (resolving `$ref`s inside `root`). Returns
 * null when it conforms, else one message naming the first offending path
 * (`$` is the value itself).
 */
export function checkSchema(schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = '$'): string | null {
  for (const key of Object.keys(schema)) {
    if (!SUPPORTED.has(key) && !ANNOTATIONS.has(key)) throw new Error(`schema-check: unsupported keyword '${key}'`);
  }
  if (typeof schema.$ref === 'string') {
    const err = checkSchema(resolveRef(root, schema.$ref), value, root, path);
    if (err) return err;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => typeMatches(t, value))) return `${path}: expected ${types.join(' or ')}, got ${describe(value)}`;
  }
  if ('const' in schema && value !== schema.const) return `${path}: expected ${JSON.stringify(schema.const)}`;
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    return `${path}: expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) return `${path}: shorter than ${schema.minLength}`;
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return `${path}: longer than ${schema.maxLength}`;
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) return `${path}: below minimum ${schema.minimum}`;
    if (typeof schema.maximum === 'number' && value > schema.maximum) return `${path}: above maximum ${schema.maximum}`;
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) return `${path}: fewer than ${schema.minItems} items`;
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) return `${path}: more than ${schema.maxItems} items`;
    if (isRecord(schema.items)) {
      for (let i = 0; i < value.length; i++) {
        const err = checkSchema(schema.items, value[i], root, `${path}[${i}]`);
        if (err) return err;
      }
    }
  }
  if (isRecord(value)) {
    const props = isRecord(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const key of schema.required as string[]) {
        if (!(key in value)) return `${path}: missing required property '${key}'`;
      }
    }
    for (const [key, v] of Object.entries(value)) {
      const sub = props[key];
      if (isRecord(sub)) {
        const err = checkSchema(sub, v, root, `${path}.${key}`);
        if (err) return err;
      } else if (schema.additionalProperties === false) {
        return `${path}: unexpected property '${key}'`;
      } else if (isRecord(schema.additionalProperties)) {
        const err = checkSchema(schema.additionalProperties, v, root, `${path}.${key}`);
        if (err) return err;
      }
    }
  }
  if (Array.isArray(schema.anyOf)) {
    const errs = (schema.anyOf as JsonSchema[]).map((s) => checkSchema(s, value, root, path));
    if (!errs.some((e) => e === null)) {
      // The most useful message comes from the alternative that matched at this level and failed deeper.
      const deeper = errs.find((e) => e !== null && !e.startsWith(`${path}: expected`));
      return deeper ?? errs.join('; or ');
    }
  }
  if (Array.isArray(schema.oneOf)) {
    const errs = (schema.oneOf as JsonSchema[]).map((s) => checkSchema(s, value, root, path));
    const passed = errs.filter((e) => e === null).length;
    if (passed === 0) return `${path}: matches none of ${errs.length} alternatives (${errs.join('; ')})`;
    if (passed > 1) return `${path}: matches ${passed} alternatives, expected exactly one`;
  }
  return null;
}
