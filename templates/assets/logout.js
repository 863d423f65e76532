// Signing out at the provider too (RP-initiated logout): the session has
// ended here; this page posts the provider's logout form at once. Without
// the script, its button does the same.
"use strict";
(function () {
  var form = document.getElementById("provider-logout");
  if (form) { form.submit(); }
})();
