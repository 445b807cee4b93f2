// Renders the API's own OpenAPI document with the vendored Swagger UI (no inline script).
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("../v1/openapi.json", window.location.href).href,
    dom_id: "#reference",
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
});
