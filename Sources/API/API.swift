// The API module is generated at build time from `openapi.yaml` by swift-openapi-generator
// (see `openapi-generator-config.yaml`): `Components`, `Operations` and `APIProtocol`, with
// `package` access so that only the Server module implements them. Edit the YAML, not Swift.

/// The API description itself, served at `/openapi.yaml`.
package enum OpenAPIDocument {
    package static var yaml: [UInt8] { PackageResources.openapi_yaml }
}
