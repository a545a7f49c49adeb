export * from './asyncapi-document.js';
export * from './asyncapi-transport.js';
export { HEADER_DOCS, ERROR_KINDS } from './wire-headers.js';
