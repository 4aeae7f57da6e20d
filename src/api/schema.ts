// A tiny OpenAPI v3 schema builder whose values carry both the JSON schema the API server enforces and the
// TypeScript type the operator reads, so the CRDs in crds/ and the types in src/api cannot drift apart.
// Only the structural-schema subset Kubernetes accepts is modelled (no $ref, no oneOf at the top level).

/** One CEL rule (`x-kubernetes-validations`). A rule that mentions `oldSelf` is a transition rule. */
export interface CelRule {
  rule: string;
  message: string;
  /** Where the API server reports the error, relative to the node the rule sits on, e.g. `.subnets`. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The JSON form of a structural schema node, with the wire names the API server and the YAML use. */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  description?: string;
  format?: string;
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: JsonSchema;
  default?: unknown;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: readonly CelRule[];
}

/**
 * A schema node for values of type T. `optional` decides both the JSON `required` list of the parent
 * object and whether the TypeScript property is optional; a defaulted property is absent from `required`
 * but present in the type, because the API server fills it in before anyone reads the object.
 */
export interface Schema<T, Optional extends boolean = false> {
  readonly json: JsonSchema;
  /** Whether the parent object lists this property in `required`. */
  readonly inRequiredList: boolean;
  /** Phantoms: never set at run time, they only carry the TypeScript type. */
  readonly __type?: T;
  readonly __optional?: Optional;
}

export type Infer<S> = S extends Schema<infer T, boolean> ? T : never;

type Shape = Record<string, Schema<unknown, boolean>>;
type RequiredKeys<P extends Shape> = {
  [K in keyof P]: P[K] extends Schema<unknown> ? K : never;
}[keyof P];
type OptionalKeys<P extends Shape> = Exclude<keyof P, RequiredKeys<P>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type InferObject<P extends Shape> = Simplify<
  { [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

interface Common {
  description?: string;
  validations?: readonly CelRule[];
}

interface StringOptions extends Common {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: 'date-time';
}

interface ArrayOptions extends Common {
  minItems?: number;
  maxItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
}

interface MapOptions extends Common {
  maxProperties?: number;
}

function node<T>(json: JsonSchema): Schema<T> {
  return { json, inRequiredList: true };
}

function common(options: Common): JsonSchema {
  const json: JsonSchema = {};
  if (options.description !== undefined) json.description = options.description;
  if (options.validations !== undefined && options.validations.length > 0) {
    json['x-kubernetes-validations'] = options.validations;
  }
  return json;
}

export function string(options: StringOptions = {}): Schema<string> {
  const json: JsonSchema = { type: 'string', ...common(options) };
  if (options.format !== undefined) json.format = options.format;
  if (options.pattern !== undefined) json.pattern = options.pattern;
  if (options.minLength !== undefined) json.minLength = options.minLength;
  if (options.maxLength !== undefined) json.maxLength = options.maxLength;
  return node(json);
}

export function literal<const V extends string>(values: readonly V[], options: Common = {}): Schema<V> {
  return node({ type: 'string', ...common(options), enum: values });
}

export function boolean(options: Common = {}): Schema<boolean> {
  return node({ type: 'boolean', ...common(options) });
}

export function integer(options: Common & { minimum?: number; maximum?: number } = {}): Schema<number> {
  const json: JsonSchema = { type: 'integer', ...common(options) };
  if (options.minimum !== undefined) json.minimum = options.minimum;
  if (options.maximum !== undefined) json.maximum = options.maximum;
  return node(json);
}

export function array<T>(items: Schema<T, boolean>, options: ArrayOptions = {}): Schema<readonly T[]> {
  const json: JsonSchema = { type: 'array', ...common(options), items: items.json };
  if (options.minItems !== undefined) json.minItems = options.minItems;
  if (options.maxItems !== undefined) json.maxItems = options.maxItems;
  if (options.listType !== undefined) json['x-kubernetes-list-type'] = options.listType;
  if (options.listMapKeys !== undefined) json['x-kubernetes-list-map-keys'] = options.listMapKeys;
  return node(json);
}

/** A string-keyed map (`additionalProperties`); key rules go in `validations` (CEL sees the map as self). */
export function map<T>(
  values: Schema<T, boolean>,
  options: MapOptions = {},
): Schema<Readonly<Record<string, T>>> {
  const json: JsonSchema = { type: 'object', ...common(options), additionalProperties: values.json };
  if (options.maxProperties !== undefined) json.maxProperties = options.maxProperties;
  return node(json);
}

export function object<P extends Shape>(properties: P, options: Common = {}): Schema<InferObject<P>> {
  const required = Object.keys(properties).filter((key) => properties[key]?.inRequiredList === true);
  const json: JsonSchema = {
    type: 'object',
    ...common(options),
    properties: Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, value.json])),
  };
  if (required.length > 0) json.required = required;
  return node(json);
}

export function optional<T>(schema: Schema<T>): Schema<T, true> {
  return { json: schema.json, inRequiredList: false };
}

/**
 * A property the API server defaults: not required in the JSON schema, always present in the type. The
 * value must satisfy the schema (the API server checks defaults when it loads the CRD).
 */
export function withDefault<T>(schema: Schema<T>, value: T): Schema<T> {
  return { json: { ...schema.json, default: value }, inRequiredList: false };
}
