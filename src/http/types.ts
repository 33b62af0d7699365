import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';

export function createFastify(options: FastifyServerOptions) {
  return Fastify(options).withTypeProvider<TypeBoxTypeProvider>();
}
/** The Fastify instance every route group is registered on (with TypeBox typing). */
export type GazoApp = ReturnType<typeof createFastify>;
