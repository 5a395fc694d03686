// The API's version: the contract version it implements (see CHANGELOG.md). The OpenAPI document, the
// start-up summary and package.json state it; a test keeps package.json in step.

export const API_VERSION = '2.0.0';
