// The CustomResourceDefinitions of both kinds, built from the schemas in this folder. The objects use the
// wire (YAML/JSON) field names; scripts/generate-crds.ts writes them to crds/, and a unit test fails when
// crds/ is stale.
import { stringify } from 'yaml';
import { CATEGORY, GROUP, Kind, Plural, VERSION } from './constants.ts';
import { serviceNetworkingSpec, serviceNetworkingStatus } from './servicenetworking.ts';
import { vpcConnectorSpec, vpcConnectorStatus } from './vpcconnector.ts';
import type { JsonSchema } from './schema.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** A CustomResourceDefinition (apiextensions.k8s.io/v1) in its wire form. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JsonSchema };
    }[];
  };
}

const readyColumns = (reasonDescription: string): PrinterColumn[] => [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'True when AWS matches the spec.',
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: reasonDescription,
  },
];

const messageColumn: PrinterColumn = {
  name: 'Message',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].message',
  description: 'What the operator is doing or waiting for, in a sentence.',
  priority: 1,
};

const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function definition(options: {
  kind: Kind;
  plural: string;
  shortName: string;
  description: string;
  spec: JsonSchema;
  status: JsonSchema;
  columns: PrinterColumn[];
}): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${options.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        shortNames: [options.shortName],
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: options.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: options.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: options.spec,
                status: options.status,
              },
            },
          },
        },
      ],
    },
  };
}

export const vpcConnectorCrd = definition({
  kind: Kind.VpcConnector,
  plural: Plural.VpcConnector,
  shortName: 'vpcc',
  description:
    'An AWS App Runner VPC connector: created, rotated and deleted by the operator (Manage), or observed ' +
    'read-only (Observe).',
  spec: vpcConnectorSpec.json,
  status: vpcConnectorStatus.json,
  columns: [
    ...readyColumns('Why the connector is or is not ready (the blocking condition first).'),
    { name: 'Connector', type: 'string', jsonPath: '.status.vpcConnectorName' },
    { name: 'AWS-Status', type: 'string', jsonPath: '.status.awsStatus' },
    { name: 'ARN', type: 'string', jsonPath: '.status.vpcConnectorArn', priority: 1 },
    messageColumn,
    ageColumn,
  ],
});

export const serviceNetworkingCrd = definition({
  kind: Kind.ServiceNetworking,
  plural: Plural.ServiceNetworking,
  shortName: 'svcnet',
  description:
    'The network configuration (egress, ingress, IP address type) of an existing AWS App Runner service.',
  spec: serviceNetworkingSpec.json,
  status: serviceNetworkingStatus.json,
  columns: [
    ...readyColumns('Why the service is or is not configured as specified.'),
    { name: 'Service', type: 'string', jsonPath: '.status.serviceName' },
    { name: 'Egress', type: 'string', jsonPath: '.status.network.egressType' },
    { name: 'Operation', type: 'string', jsonPath: '.status.lastOperation.status' },
    { name: 'Service-ARN', type: 'string', jsonPath: '.spec.serviceArn', priority: 1 },
    messageColumn,
    ageColumn,
  ],
});

export const crds: readonly CustomResourceDefinition[] = [vpcConnectorCrd, serviceNetworkingCrd];

/** The file each CRD is written to, relative to the repository root. */
export function crdFileName(crd: CustomResourceDefinition): string {
  return `crds/${GROUP}_${crd.spec.names.plural}.yaml`;
}

export function renderCrd(crd: CustomResourceDefinition): string {
  const header =
    '# Generated by scripts/generate-crds.ts from src/api; do not edit. Run: npm run generate:crds\n';
  return header + stringify(crd, { lineWidth: 0 });
}
