// The API reference page: Swagger UI (served from our own static files) on /api/schema/.
// Calls from "Try it out" carry the page's CSRF token, as the site's own forms do.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("swagger-ui");
  if (!el || typeof window.SwaggerUIBundle !== "function") return;
  var csrf = el.dataset.csrfToken;
  window.SwaggerUIBundle({
    url: el.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: false,
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (req) {
      if (csrf) req.headers["X-CSRFToken"] = csrf;
      return req;
    },
  });
});
