// The API docs page: Swagger UI's request-body editor is a textarea with an empty title and no
// label (axe `label`, critical). Name each one as Swagger UI renders it.
"use strict";
new MutationObserver(() => {
  for (const area of document.querySelectorAll("textarea.body-param__text:not([aria-label])")) {
    area.setAttribute("aria-label", "Corps de la requête (JSON)");
  }
}).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });
