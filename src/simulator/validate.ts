// Server-side validation of App Runner inputs against the model constraints (semantics.md §4): the
// SDKs check little client-side, so required members, lengths, anchored patterns, enums and ranges
// are enforced here, answering InvalidRequestException with the Coral-style message that names the
// member path ("1 validation error detected: Value 'x' at 'VpcConnectorName' failed to satisfy ...").

import { appRunnerErrors } from './errors.ts';

export type Rule =
  | { kind: 'string'; min?: number; max?: number; pattern?: RegExp; enum?: readonly string[] }
  | { kind: 'int'; min?: number; max?: number }
  | { kind: 'bool' }
  | { kind: 'list'; item: Rule; min?: number }
  | { kind: 'struct'; members: Readonly<Record<string, Member>> }
  | { kind: 'map' };

export interface Member {
  rule: Rule;
  required?: boolean;
}

const show = (v: unknown): string => {
  if (v === null || v === undefined) return 'null';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `'${s.length > 100 ? `${s.slice(0, 100)}...` : s}'`;
};

function check(rule: Rule, value: unknown, path: string, out: string[]): void {
  const fail = (constraint: string): void => {
    out.push(`Value ${show(value)} at '${path}' failed to satisfy constraint: ${constraint}`);
  };
  switch (rule.kind) {
    case 'string': {
      if (typeof value !== 'string') {
        fail('Member must be a string');
        return;
      }
      if (rule.min !== undefined && value.length < rule.min) {
        fail(`Member must have length greater than or equal to ${rule.min}`);
        return;
      }
      if (rule.max !== undefined && value.length > rule.max) {
        fail(`Member must have length less than or equal to ${rule.max}`);
        return;
      }
      if (rule.enum !== undefined && !rule.enum.includes(value)) {
        fail(`Member must satisfy enum value set: [${rule.enum.join(', ')}]`);
        return;
      }
      if (rule.pattern !== undefined && !rule.pattern.test(value)) {
        fail(`Member must satisfy regular expression pattern: ${rule.pattern.source}`);
        return;
      }
      return;
    }
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        fail('Member must be an integer');
        return;
      }
      if (rule.min !== undefined && value < rule.min) {
        fail(`Member must have value greater than or equal to ${rule.min}`);
        return;
      }
      if (rule.max !== undefined && value > rule.max) {
        fail(`Member must have value less than or equal to ${rule.max}`);
        return;
      }
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') fail('Member must be a boolean');
      return;
    case 'list': {
      if (!Array.isArray(value)) {
        fail('Member must be a list');
        return;
      }
      if (rule.min !== undefined && value.length < rule.min) {
        fail(`Member must have length greater than or equal to ${rule.min}`);
        return;
      }
      value.forEach((item: unknown, i) => {
        check(rule.item, item, `${path}.${i + 1}.member`, out);
      });
      return;
    }
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('Member must be a map');
      return;
    case 'struct': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail('Member must be a structure');
        return;
      }
      checkMembers(rule.members, value as Record<string, unknown>, path, out);
      return;
    }
  }
}

function checkMembers(
  members: Readonly<Record<string, Member>>,
  input: Record<string, unknown>,
  path: string,
  out: string[],
): void {
  for (const [name, member] of Object.entries(members)) {
    const v = input[name];
    const p = path === '' ? name : `${path}.${name}`;
    if (v === undefined || v === null) {
      if (member.required === true)
        out.push(`Value null at '${p}' failed to satisfy constraint: Member must not be null`);
      continue;
    }
    check(member.rule, v, p, out);
  }
}

/** Throws InvalidRequestException listing every violated constraint. */
export function validateInput(
  members: Readonly<Record<string, Member>>,
  input: Record<string, unknown>,
): void {
  const problems: string[] = [];
  checkMembers(members, input, '', problems);
  if (problems.length > 0) {
    const n = problems.length;
    throw appRunnerErrors.invalidRequest(
      `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
    );
  }
}

// Shapes (semantics.md §4; the Smithy model anchors the patterns, so they are full-string matches).
const str = (min?: number, max?: number, pattern?: RegExp): Rule => ({
  kind: 'string',
  ...(min !== undefined ? { min } : {}),
  ...(max !== undefined ? { max } : {}),
  ...(pattern !== undefined ? { pattern } : {}),
});
const enumOf = (...values: string[]): Rule => ({ kind: 'string', enum: values });

export const shapes = {
  VpcConnectorName: str(4, 40, /^[A-Za-z0-9][A-Za-z0-9\-_]{3,39}$/),
  ServiceName: str(4, 40, /^[A-Za-z0-9][A-Za-z0-9-_]{3,39}$/),
  AppRunnerResourceArn: str(
    1,
    1011,
    /^arn:aws(-[\w]+)*:[a-z0-9-.]{0,63}:[a-z0-9-.]{0,63}:[0-9]{12}:(\w|\/|-){1,1011}$/,
  ),
  RoleArn: str(
    29,
    1024,
    /^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):iam::[0-9]{12}:(role|role\/service-role)\/[\w+=,.@\-/]{1,1000}$/,
  ),
  String: str(0, 51200),
  NextToken: str(1, 1024),
  TagKey: str(1, 128, /^(?!aws:).+$/s),
  TagValue: str(0, 256),
  EgressType: enumOf('DEFAULT', 'VPC'),
  IpAddressType: enumOf('IPV4', 'DUAL_STACK'),
} as const;

export const tagList: Rule = {
  kind: 'list',
  item: {
    kind: 'struct',
    members: { Key: { rule: shapes.TagKey, required: true }, Value: { rule: shapes.TagValue } },
  },
};

export const stringList: Rule = { kind: 'list', item: shapes.String };

export const networkConfiguration: Rule = {
  kind: 'struct',
  members: {
    EgressConfiguration: {
      rule: {
        kind: 'struct',
        members: {
          EgressType: { rule: shapes.EgressType },
          VpcConnectorArn: { rule: shapes.AppRunnerResourceArn },
        },
      },
    },
    IngressConfiguration: {
      rule: { kind: 'struct', members: { IsPubliclyAccessible: { rule: { kind: 'bool' } } } },
    },
    IpAddressType: { rule: shapes.IpAddressType },
  },
};

export const sourceConfiguration: Rule = {
  kind: 'struct',
  members: {
    ImageRepository: {
      rule: {
        kind: 'struct',
        members: {
          ImageIdentifier: { rule: str(1, 1024), required: true },
          ImageRepositoryType: { rule: enumOf('ECR', 'ECR_PUBLIC'), required: true },
          ImageConfiguration: {
            rule: {
              kind: 'struct',
              members: {
                RuntimeEnvironmentVariables: { rule: { kind: 'map' } },
                RuntimeEnvironmentSecrets: { rule: { kind: 'map' } },
                StartCommand: { rule: str(0, 51200) },
                Port: { rule: str(0, 51200) },
              },
            },
          },
        },
      },
    },
    CodeRepository: { rule: { kind: 'map' } },
    AutoDeploymentsEnabled: { rule: { kind: 'bool' } },
    AuthenticationConfiguration: {
      rule: {
        kind: 'struct',
        members: {
          AccessRoleArn: { rule: shapes.RoleArn },
          ConnectionArn: { rule: shapes.AppRunnerResourceArn },
        },
      },
    },
  },
};

export const instanceConfiguration: Rule = {
  kind: 'struct',
  members: {
    Cpu: { rule: str(3, 9, /^(256|512|1024|2048|4096|(0\.25|0\.5|1|2|4) vCPU)$/) },
    Memory: {
      rule: str(3, 6, /^(512|1024|2048|3072|4096|6144|8192|10240|12288|(0\.5|1|2|3|4|6|8|10|12) GB)$/),
    },
    InstanceRoleArn: { rule: shapes.RoleArn },
  },
};

const range20: Rule = { kind: 'int', min: 1, max: 20 };
export const healthCheckConfiguration: Rule = {
  kind: 'struct',
  members: {
    Protocol: { rule: enumOf('TCP', 'HTTP') },
    Path: { rule: str(1, 51200) },
    Interval: { rule: range20 },
    Timeout: { rule: range20 },
    HealthyThreshold: { rule: range20 },
    UnhealthyThreshold: { rule: range20 },
  },
};

export const observabilityConfiguration: Rule = {
  kind: 'struct',
  members: {
    ObservabilityEnabled: { rule: { kind: 'bool' }, required: true },
    ObservabilityConfigurationArn: { rule: shapes.AppRunnerResourceArn },
  },
};

export const encryptionConfiguration: Rule = {
  kind: 'struct',
  members: {
    KmsKey: {
      rule: str(0, 256, /^arn:aws(-[\w]+)*:kms:[a-z-]+-[0-9]{1}:[0-9]{12}:key\/[0-9a-f-]{36}$/),
      required: true,
    },
  },
};
