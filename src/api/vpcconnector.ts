// VpcConnector: one AWS App Runner VPC connector, created and owned (Manage) or watched read-only (Observe).
// The schema below is the single source of the CRD (crds/apprunnernet.dev_vpcconnectors.yaml) and of the
// TypeScript types.
import type { API_VERSION, Kind } from './constants.ts';
import { arnValidations, conditions, MaxLength, Pattern, tags, type ObjectMeta } from './common.ts';
import {
  array,
  integer,
  literal,
  object,
  optional,
  string,
  withDefault,
  type CelRule,
  type Infer,
} from './schema.ts';

export const UpdatePolicy = { Rotate: 'Rotate', Reject: 'Reject' } as const;
export type UpdatePolicy = (typeof UpdatePolicy)[keyof typeof UpdatePolicy];
export const VpcConnectorDeletionPolicy = { Delete: 'Delete', Retain: 'Retain' } as const;
export type VpcConnectorDeletionPolicy =
  (typeof VpcConnectorDeletionPolicy)[keyof typeof VpcConnectorDeletionPolicy];
export const ManagementPolicy = { Manage: 'Manage', Observe: 'Observe' } as const;
export type ManagementPolicy = (typeof ManagementPolicy)[keyof typeof ManagementPolicy];

/** Upper bounds: an ENI carries at most 16 security groups; 16 subnets covers every AZ of any region twice. */
export const MAX_SUBNETS = 16;
export const MAX_SECURITY_GROUPS = 16;

/** A field App Runner cannot change on an existing connector (there is no UpdateVpcConnector). */
function immutableUnderReject(field: string, what: string): CelRule {
  return {
    rule:
      `self.updatePolicy != 'Reject' || (has(self.${field}) == has(oldSelf.${field}) && ` +
      `(!has(self.${field}) || self.${field} == oldSelf.${field}))`,
    message:
      `${what} cannot change while updatePolicy is Reject: App Runner connectors are immutable; ` +
      'set updatePolicy: Rotate to replace the connector without downtime, or re-create the object',
    fieldPath: `.${field}`,
    reason: 'FieldValueForbidden',
  };
}

export const vpcConnectorSpec = object(
  {
    subnets: optional(
      array(string({ pattern: Pattern.subnetId, maxLength: MaxLength.subnetId }), {
        listType: 'set',
        minItems: 1,
        maxItems: MAX_SUBNETS,
        description:
          'IDs of subnets of one VPC (subnet-xxxxxxxx or subnet-xxxxxxxxxxxxxxxxx). Required when ' +
          'managementPolicy is Manage.',
      }),
    ),
    securityGroups: optional(
      array(string({ pattern: Pattern.securityGroupId, maxLength: MaxLength.securityGroupId }), {
        listType: 'set',
        minItems: 1,
        maxItems: MAX_SECURITY_GROUPS,
        description: "Security group IDs; omit to use the VPC's default security group.",
      }),
    ),
    region: optional(
      string({
        pattern: Pattern.region,
        maxLength: MaxLength.region,
        description: "AWS region, e.g. us-east-1; defaults to the operator's --region. Cannot change.",
      }),
    ),
    vpcConnectorName: optional(
      string({
        pattern: Pattern.connectorName,
        minLength: 4,
        maxLength: 40,
        description:
          'Name of the App Runner connector (4 to 40 letters, digits, - and _). Defaults to a name derived ' +
          'from the namespace and name, reported in status.vpcConnectorName.',
      }),
    ),
    vpcConnectorArn: optional(
      string({
        pattern: Pattern.connectorArn,
        maxLength: MaxLength.arn,
        description: 'managementPolicy Observe only: the full ARN of the existing connector to observe.',
        validations: arnValidations(),
      }),
    ),
    tags: optional(tags('Tags for the connector, applied on top of the operator ownership tags.')),
    updatePolicy: withDefault(
      literal(Object.values(UpdatePolicy), {
        description:
          'What an edit of subnets, securityGroups or vpcConnectorName does: Rotate creates a new connector, ' +
          'moves every service to it and deletes the old one; Reject refuses the edit.',
      }),
      UpdatePolicy.Rotate,
    ),
    deletionPolicy: withDefault(
      literal(Object.values(VpcConnectorDeletionPolicy), {
        description: 'Delete removes the AWS connector with the object; Retain leaves it in AWS.',
      }),
      VpcConnectorDeletionPolicy.Delete,
    ),
    managementPolicy: withDefault(
      literal(Object.values(ManagementPolicy), {
        description: 'Manage creates and owns the connector; Observe adopts an existing one read-only.',
      }),
      ManagementPolicy.Manage,
    ),
  },
  {
    validations: [
      {
        rule: "self.managementPolicy == 'Observe' || has(self.subnets)",
        message: 'spec.subnets is required when managementPolicy is Manage',
        fieldPath: '.subnets',
        reason: 'FieldValueRequired',
      },
      {
        rule: "self.managementPolicy != 'Observe' || has(self.vpcConnectorName) || has(self.vpcConnectorArn)",
        message:
          'managementPolicy Observe adopts an existing connector: set spec.vpcConnectorName or spec.vpcConnectorArn',
        reason: 'FieldValueRequired',
      },
      {
        rule: "!has(self.vpcConnectorArn) || self.managementPolicy == 'Observe'",
        message:
          'spec.vpcConnectorArn is only for managementPolicy Observe; the operator reports the ARN of a ' +
          'managed connector in status.vpcConnectorArn',
        fieldPath: '.vpcConnectorArn',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "!has(self.tags) || self.managementPolicy == 'Manage'",
        message:
          'spec.tags is only for managementPolicy Manage: Observe never changes the connector, so the tags ' +
          'would be silently ignored',
        fieldPath: '.tags',
        reason: 'FieldValueForbidden',
      },
      {
        rule:
          "!has(self.vpcConnectorArn) || !has(self.vpcConnectorName) || self.vpcConnectorArn.split('/')[1] == " +
          'self.vpcConnectorName',
        message: 'spec.vpcConnectorArn names a different connector than spec.vpcConnectorName',
        fieldPath: '.vpcConnectorArn',
      },
      {
        rule: "!has(self.vpcConnectorArn) || !has(self.region) || self.vpcConnectorArn.split(':')[3] == self.region",
        message: 'spec.vpcConnectorArn is in a different region than spec.region',
        fieldPath: '.vpcConnectorArn',
      },
      {
        rule: '!has(oldSelf.region) || (has(self.region) && self.region == oldSelf.region)',
        message:
          'spec.region cannot change or be removed: services cannot use a connector in another region; ' +
          'create a new VpcConnector instead',
        fieldPath: '.region',
        reason: 'FieldValueForbidden',
      },
      immutableUnderReject('subnets', 'spec.subnets'),
      immutableUnderReject('securityGroups', 'spec.securityGroups'),
      immutableUnderReject('vpcConnectorName', 'spec.vpcConnectorName'),
    ],
  },
);

export const vpcConnectorStatus = object({
  observedGeneration: optional(integer({ minimum: 0 })),
  region: optional(
    string({ description: 'The region the connector lives in (spec.region or the default).' }),
  ),
  vpcConnectorArn: optional(string()),
  vpcConnectorName: optional(string()),
  vpcConnectorRevision: optional(integer()),
  awsStatus: optional(literal(['ACTIVE', 'INACTIVE'], { description: 'The status AWS last reported.' })),
  services: optional(
    array(string(), {
      listType: 'atomic',
      description: 'ARNs of the App Runner services whose egress currently uses this connector.',
    }),
  ),
  createIntent: optional(
    object(
      {
        name: string(),
        requestedAt: string({ format: 'date-time' }),
        replaces: optional(string({ description: 'The ARN of the connector this one replaces (rotation).' })),
        refused: optional(
          object(
            {
              at: string({ format: 'date-time' }),
              code: string(),
              message: string(),
            },
            {
              description:
                'AWS refused the create as invalid: before reporting it, the operator looks the name up for a ' +
                'short while, since a connector created by an earlier attempt whose answer was lost (or not yet ' +
                'listed) is refused the same way, whatever the words.',
            },
          ),
        ),
      },
      {
        description:
          'Recorded before CreateVpcConnector, whose answer can be lost (it has no idempotency token): after ' +
          'a crash the operator looks the name up and adopts what it finds instead of creating a second one.',
      },
    ),
  ),
  retiring: optional(
    object(
      {
        arn: string(),
        name: string(),
        deletionRequestedAt: optional(string({ format: 'date-time' })),
      },
      { description: 'During a rotation: the old connector, deleted once no service uses it.' },
    ),
  ),
  deletionRequestedAt: optional(
    string({ format: 'date-time', description: 'When AWS accepted the deletion of the current connector.' }),
  ),
  recordedAt: optional(
    string({
      format: 'date-time',
      description:
        'When the operator recorded the current connector (created or adopted): AWS reads may lag a fresh ' +
        'create for a while, during which a connector not found yet is not taken for deleted.',
    }),
  ),
  serviceLinkedRoleDeletion: optional(
    object(
      { taskId: string(), startedAt: string({ format: 'date-time' }) },
      {
        description:
          'The IAM deletion task of the service-linked role (--service-linked-role-deletion=WhenUnused).',
      },
    ),
  ),
  conditions,
});

export type VpcConnectorSpec = Infer<typeof vpcConnectorSpec>;
export type VpcConnectorStatus = Infer<typeof vpcConnectorStatus>;

export interface VpcConnector {
  apiVersion: typeof API_VERSION;
  kind: typeof Kind.VpcConnector;
  metadata: ObjectMeta;
  spec: VpcConnectorSpec;
  status?: VpcConnectorStatus;
}
