/** A failure the client caused or may see; the HTTP layer turns it into the Gyazo error shape. */
export class ServiceError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 422 | 429 | 500 | 507,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new ServiceError(400, message);
export const unauthorized = (message = 'You are not authorized') => new ServiceError(401, message);
export const forbidden = (message: string) => new ServiceError(403, message);
export const notFound = (message = 'Not Found') => new ServiceError(404, message);
export const unprocessable = (message: string) => new ServiceError(422, message);
export const tooLarge = (message: string) => new ServiceError(413, message);
export const insufficientStorage = (message: string) => new ServiceError(507, message);
