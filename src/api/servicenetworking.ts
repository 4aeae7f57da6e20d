// ServiceNetworking: the network configuration of one existing App Runner service (egress through a VPC
// connector or the default, ingress visibility, IP address type). The operator never creates or deletes
// services. Single source of crds/apprunnernet.dev_servicenetworkings.yaml and of the TypeScript types.
import type { API_VERSION, Kind } from './constants.ts';
import { arnValidations, conditions, MaxLength, Pattern, type ObjectMeta } from './common.ts';
import { boolean, integer, literal, object, optional, string, withDefault, type Infer } from './schema.ts';

export const EgressType = { VPC: 'VPC', DEFAULT: 'DEFAULT' } as const;
export type EgressType = (typeof EgressType)[keyof typeof EgressType];
export const IpAddressType = { IPV4: 'IPV4', DUAL_STACK: 'DUAL_STACK' } as const;
export type IpAddressType = (typeof IpAddressType)[keyof typeof IpAddressType];
export const ServiceNetworkingDeletionPolicy = { Detach: 'Detach', Retain: 'Retain' } as const;
export type ServiceNetworkingDeletionPolicy =
  (typeof ServiceNetworkingDeletionPolicy)[keyof typeof ServiceNetworkingDeletionPolicy];

const egress = object(
  {
    type: literal(Object.values(EgressType), {
      description: 'VPC sends outbound traffic through a VPC connector; DEFAULT through the public internet.',
    }),
    vpcConnectorRef: optional(
      object(
        { name: string({ pattern: Pattern.objectName, maxLength: MaxLength.objectName }) },
        { description: 'A VpcConnector in the same namespace; the service follows it through rotations.' },
      ),
    ),
    vpcConnectorArn: optional(
      string({
        pattern: Pattern.connectorArn,
        maxLength: MaxLength.arn,
        description: 'The full ARN of a connector the operator does not manage.',
        validations: arnValidations(),
      }),
    ),
  },
  {
    validations: [
      {
        rule: "self.type != 'VPC' || (has(self.vpcConnectorRef) != has(self.vpcConnectorArn))",
        message: 'egress type VPC needs exactly one of vpcConnectorRef and vpcConnectorArn',
        reason: 'FieldValueInvalid',
      },
      {
        rule: "self.type != 'DEFAULT' || (!has(self.vpcConnectorRef) && !has(self.vpcConnectorArn))",
        message: 'egress type DEFAULT takes neither vpcConnectorRef nor vpcConnectorArn',
        reason: 'FieldValueForbidden',
      },
    ],
  },
);

export const serviceNetworkingSpec = object(
  {
    serviceArn: string({
      pattern: Pattern.serviceArn,
      maxLength: MaxLength.arn,
      description: 'The App Runner service (arn:aws:apprunner:<region>:<account>:service/<name>/<id>).',
      validations: [
        {
          rule: 'self == oldSelf',
          message: 'spec.serviceArn cannot change; create another ServiceNetworking for another service',
        },
        ...arnValidations(),
      ],
    }),
    egress,
    ingress: optional(
      object(
        { isPubliclyAccessible: boolean() },
        { description: 'Absent: the operator leaves ingress as it is.' },
      ),
    ),
    ipAddressType: optional(
      literal(Object.values(IpAddressType), { description: 'Absent: the operator leaves it as it is.' }),
    ),
    deletionPolicy: withDefault(
      literal(Object.values(ServiceNetworkingDeletionPolicy), {
        description: 'On delete, Detach returns egress to DEFAULT; Retain leaves the network configuration.',
      }),
      ServiceNetworkingDeletionPolicy.Detach,
    ),
  },
  {
    validations: [
      {
        rule:
          "!has(self.egress.vpcConnectorArn) || self.egress.vpcConnectorArn.split(':')[3] == " +
          "self.serviceArn.split(':')[3]",
        message: 'spec.egress.vpcConnectorArn must be in the same region as spec.serviceArn',
        fieldPath: '.egress.vpcConnectorArn',
      },
      {
        rule:
          "!has(self.egress.vpcConnectorArn) || self.egress.vpcConnectorArn.split(':')[4] == " +
          "self.serviceArn.split(':')[4]",
        message:
          'spec.egress.vpcConnectorArn must be in the same AWS account as spec.serviceArn (App Runner uses ' +
          "only connectors of the service's own account)",
        fieldPath: '.egress.vpcConnectorArn',
      },
    ],
  },
);

export const serviceNetworkingStatus = object({
  observedGeneration: optional(integer({ minimum: 0 })),
  serviceName: optional(string()),
  serviceStatus: optional(
    literal(['CREATE_FAILED', 'RUNNING', 'DELETED', 'DELETE_FAILED', 'PAUSED', 'OPERATION_IN_PROGRESS'], {
      description: 'The service status App Runner last reported.',
    }),
  ),
  network: optional(
    object(
      {
        egressType: literal(Object.values(EgressType)),
        vpcConnectorArn: optional(string()),
        isPubliclyAccessible: boolean(),
        ipAddressType: literal(Object.values(IpAddressType)),
      },
      { description: 'The network configuration App Runner last reported.' },
    ),
  ),
  lastOperation: optional(
    object(
      {
        id: string(),
        type: string(),
        status: string(),
        startedAt: optional(string({ format: 'date-time' })),
        endedAt: optional(string({ format: 'date-time' })),
        generation: optional(
          integer({
            minimum: 0,
            description:
              'The metadata.generation whose spec the operation applied; a Ready condition of a later generation needed no operation.',
          }),
        ),
      },
      { description: 'The last App Runner operation the operator started or observed on the service.' },
    ),
  ),
  conditions,
});

export type ServiceNetworkingSpec = Infer<typeof serviceNetworkingSpec>;
export type ServiceNetworkingStatus = Infer<typeof serviceNetworkingStatus>;

export interface ServiceNetworking {
  apiVersion: typeof API_VERSION;
  kind: typeof Kind.ServiceNetworking;
  metadata: ObjectMeta;
  spec: ServiceNetworkingSpec;
  status?: ServiceNetworkingStatus;
}
