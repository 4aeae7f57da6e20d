// Schema pieces both kinds share: AWS identifier formats (aws/semantics.md §2.2 and §4), the metav1
// Condition shape, and the object metadata the operator reads.
import { RESERVED_TAG_PREFIX } from './constants.ts';
import {
  array,
  integer,
  literal,
  map,
  object,
  optional,
  string,
  type CelRule,
  type Infer,
} from './schema.ts';

// The API server evaluates `pattern` with Go's RE2: anchors and classes only, no look-around.
export const Pattern = {
  subnetId: '^subnet-[0-9a-f]{8}([0-9a-f]{9})?$',
  securityGroupId: '^sg-[0-9a-f]{8}([0-9a-f]{9})?$',
  connectorName: '^[A-Za-z0-9][A-Za-z0-9\\-_]{3,39}$',
  region: '^[a-z]{2}(-[a-z]+)+-\\d$',
  /** arn:<partition>:apprunner:<region>:<account>:vpcconnector/<name>/<revision>/<32-hex id> */
  connectorArn:
    '^arn:aws(-[a-z]+)*:apprunner:[a-z]{2}(-[a-z]+)+-\\d:\\d{12}:vpcconnector/[A-Za-z0-9][A-Za-z0-9\\-_]{3,39}/\\d+/[0-9a-f]{32}$',
  /** arn:<partition>:apprunner:<region>:<account>:service/<name>/<32-hex id> (real ids have no dashes). */
  serviceArn:
    '^arn:aws(-[a-z]+)*:apprunner:[a-z]{2}(-[a-z]+)+-\\d:\\d{12}:service/[A-Za-z0-9][A-Za-z0-9\\-_]{3,39}/[0-9a-f]{32}$',
  /** A DNS-1123 subdomain: the name of a Kubernetes object. */
  objectName: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  conditionReason: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
} as const;

/**
 * Lengths that bound CEL cost estimates and match AWS (an ARN is at most 1011 characters). The id bounds sit
 * well above the longest id (24 and 20 characters) so that a near miss, such as a stray newline or a zero-width
 * space, fails the pattern, whose message shows the value escaped, rather than a bare "Too long".
 */
export const MaxLength = {
  subnetId: 64,
  securityGroupId: 64,
  region: 32,
  arn: 1011,
  objectName: 253,
  tagKey: 128,
  tagValue: 256,
} as const;

/**
 * The partition an ARN must name for its region (arn:<partition>:<service>:<region>:...): China regions are
 * `aws-cn`, GovCloud `aws-us-gov`, the isolated regions their own, every other region `aws`.
 * A CEL expression over `self`, a string that already matched an ARN pattern.
 */
const expectedPartition =
  "(self.split(':')[3].startsWith('cn-') ? 'aws-cn' : self.split(':')[3].startsWith('us-gov-') ? 'aws-us-gov' : " +
  "self.split(':')[3].contains('-isob-') ? 'aws-iso-b' : self.split(':')[3].contains('-isoe-') ? 'aws-iso-e' : " +
  "self.split(':')[3].contains('-isof-') ? 'aws-iso-f' : self.split(':')[3].contains('-iso-') ? 'aws-iso' : 'aws')";

/** CEL rules of an ARN field: its partition agrees with its region (a look-alike such as aws-cn in us-east-1). */
export function arnValidations(): CelRule[] {
  return [
    {
      rule: `self.split(':')[1] == ${expectedPartition}`,
      message:
        "the ARN's partition does not match its region (aws-cn is for cn-* regions, aws-us-gov for us-gov-*, " +
        'aws for the commercial regions)',
    },
  ];
}

/**
 * Characters no tag should carry: control characters, line and paragraph separators (AWS's `.` patterns
 * refuse them) and invisible format characters such as a zero-width space or a bidirectional override, which
 * make a key look like another one. A CEL raw string for RE2.
 */
const invisible = "r'[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]'";

export const condition = object({
  type: string({ maxLength: 316, description: 'Ready, Reconciling, Stalled, or a domain condition.' }),
  status: literal(['True', 'False', 'Unknown']),
  observedGeneration: optional(
    integer({ minimum: 0, description: 'The metadata.generation this condition was computed from.' }),
  ),
  lastTransitionTime: string({ format: 'date-time' }),
  reason: string({ maxLength: 1024, pattern: Pattern.conditionReason, description: 'A CamelCase constant.' }),
  message: string({ maxLength: 32768, description: 'A sentence a human can act on.' }),
});
export type Condition = Infer<typeof condition>;

export const conditions = optional(
  array(condition, {
    listType: 'map',
    listMapKeys: ['type'],
    maxItems: 16,
    description: 'kstatus conditions (Ready, Reconciling, Stalled) and domain conditions.',
  }),
);

/** A resource tag map as AWS accepts it (semantics §4: TagKey 1..128 without `aws:`, TagValue ..256). */
export function tags(description: string) {
  return map(string({ maxLength: MaxLength.tagValue }), {
    description,
    maxProperties: 50,
    validations: [
      {
        rule: `self.all(k, size(k) >= 1 && size(k) <= ${MaxLength.tagKey})`,
        message: `tag keys must be 1 to ${MaxLength.tagKey} characters long`,
      },
      {
        rule: "self.all(k, !k.startsWith('aws:'))",
        message: "tag keys must not start with 'aws:' (AWS reserves that prefix)",
      },
      {
        rule: `self.all(k, !k.startsWith('${RESERVED_TAG_PREFIX}'))`,
        message: `tag keys under '${RESERVED_TAG_PREFIX}' are reserved for the operator's ownership tags`,
      },
      {
        rule: `self.all(k, !k.matches(${invisible}) && !self[k].matches(${invisible}))`,
        message:
          'tag keys and values must not contain control characters, line separators or invisible characters ' +
          '(such as a zero-width space)',
      },
    ],
  });
}

/**
 * The object metadata the operator reads, as the API server sends it in JSON (timestamps are RFC 3339
 * strings, unlike client-node's typed V1ObjectMeta, which custom-object calls do not produce).
 */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
