// One error type for every protocol: the handler names the AWS error code and HTTP status, and the
// protocol layer serialises it (App Runner JSON `__type`, IAM `ErrorResponse`, EC2 `Response/Errors`).

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const appRunnerErrors = {
  invalidRequest: (m: string) => new AwsError('InvalidRequestException', 400, m),
  notFound: (m: string) => new AwsError('ResourceNotFoundException', 400, m),
  invalidState: (m: string) => new AwsError('InvalidStateException', 400, m),
  quota: (m: string) => new AwsError('ServiceQuotaExceededException', 402, m),
  internal: () =>
    new AwsError('InternalServiceErrorException', 500, 'An unexpected service exception occurred.'),
  throttled: () => new AwsError('ThrottlingException', 400, 'Rate exceeded'),
  accessDenied: (m: string) => new AwsError('AccessDeniedException', 400, m),
};

export const iamErrors = {
  noSuchEntity: (m: string) => new AwsError('NoSuchEntity', 404, m),
  invalidInput: (m: string) => new AwsError('InvalidInput', 400, m),
  unmodifiable: (m: string) => new AwsError('UnmodifiableEntity', 400, m),
  serviceFailure: () => new AwsError('ServiceFailure', 500, 'An internal error occurred. Try again later.'),
  throttled: () => new AwsError('Throttling', 400, 'Rate exceeded'),
  accessDenied: (m: string) => new AwsError('AccessDenied', 403, m),
};

export const ec2Errors = {
  internal: () => new AwsError('InternalError', 500, 'An internal error has occurred'),
  throttled: () => new AwsError('RequestLimitExceeded', 503, 'Request limit exceeded.'),
  unauthorized: (m: string) => new AwsError('UnauthorizedOperation', 403, m),
};
