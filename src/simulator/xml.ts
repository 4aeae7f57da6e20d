// Hand-written XML output for the IAM (awsQuery) and EC2 (ec2Query) protocols. Only what those
// protocols need: escaped text, nested elements, and lists.

/** Escapes element text (the simulator writes no attribute values from input, so quotes stay as they are, as AWS does). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** A value that can become XML: text, a nested record of elements, or a list (rendered by the caller). */
export type XmlValue = string | number | boolean | undefined | XmlNode | XmlList;
export interface XmlNode {
  readonly [element: string]: XmlValue;
}
/** A list whose entries are wrapped in `itemName` elements (`member` for IAM, `item` for EC2). */
export interface XmlList {
  readonly xmlList: true;
  readonly itemName: string;
  readonly items: readonly XmlValue[];
}

export function list(itemName: string, items: readonly XmlValue[]): XmlList {
  return { xmlList: true, itemName, items };
}

function isList(value: XmlValue): value is XmlList {
  return typeof value === 'object' && (value as { xmlList?: unknown }).xmlList === true;
}

export function renderValue(value: XmlValue): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isList(value)) {
    return value.items.map((item) => element(value.itemName, item)).join('');
  }
  let out = '';
  for (const [name, child] of Object.entries(value)) {
    if (child !== undefined) out += element(name, child);
  }
  return out;
}

export function element(name: string, value: XmlValue): string {
  return `<${name}>${renderValue(value)}</${name}>`;
}
