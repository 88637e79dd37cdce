/* The visual email editor: GrapesJS with its MJML plugin (webapp/static/vendor), on the design page.
   The design goes to the server in two hidden inputs (its MJML and the editor's project JSON) on save, preview
   and test send; the server compiles the MJML. The personalisation menu inserts {{ profile.Field }} where the
   text cursor is (or at the end of the selected text block). */
(function () {
  "use strict";
  var root = document.getElementById("design-editor");
  if (!root || !window.grapesjs) return;
  var form = document.getElementById("design-form");
  var data = JSON.parse(document.getElementById("design-data").textContent || "{}");
  var fields = JSON.parse(document.getElementById("design-fields").textContent || "{}");
  // A design saved without the editor's project (a starter, an API) opens from its MJML
  var project = data.project && data.project.pages && data.project.pages.length ? data.project : null;
  var plugin = window["grapesjs-mjml"];
  plugin = plugin && plugin.default ? plugin.default : plugin;

  // The editor's own interface in the admin's language when its locale is loaded (design.html loads nl)
  var lang = root.dataset.locale || "en";
  var locales = window.verrijkEditorLocales || {};
  var coreMessages = {};
  var pluginMessages = {};
  if (locales.grapesjs) coreMessages[lang] = locales.grapesjs;
  if (locales["grapesjs-mjml"]) pluginMessages[lang] = locales["grapesjs-mjml"];

  var editor = window.grapesjs.init({
    container: "#design-canvas",
    height: "100%",
    fromElement: false,
    storageManager: false,
    telemetry: false, // GrapesJS would report to its makers' server
    cssIcons: root.dataset.icons, // our own copy: GrapesJS would load Font Awesome from a CDN
    assetManager: { upload: false },
    i18n: { locale: coreMessages[lang] ? lang : "en", detectLocale: false, messages: coreMessages },
    plugins: [
      function (ed) {
        plugin(ed, { fonts: {}, useCustomTheme: false, resetDevices: true, i18n: pluginMessages });
      },
    ],
    components: project ? undefined : data.mjml,
    projectData: project || undefined,
  });
  // The footer block: the unsubscribe link every marketing email carries (without it one is added when sent)
  editor.Blocks.add("verrijk-footer", {
    label: root.dataset.footerLabel,
    category: root.dataset.footerCategory,
    media: '<i class="fa fa-chain-broken" style="font-size: 2em"></i>',
    content:
      '<mj-section><mj-column><mj-text align="center" font-size="12px" color="#6b7280">' +
      root.dataset.footerText + ' <a href="{{ unsubscribe_url }}">' + root.dataset.footerLink +
      "</a></mj-text></mj-column></mj-section>",
  });
  window.verrijkEmailEditor = editor; // for the browser tests and the curious

  function sync() {
    document.getElementById("design-mjml").value = editor.getHtml();
    document.getElementById("design-project").value = JSON.stringify(editor.getProjectData());
  }
  form.addEventListener("submit", sync);
  form.addEventListener("htmx:configRequest", function (event) {
    sync();
    event.detail.parameters.design_mjml = document.getElementById("design-mjml").value;
    event.detail.parameters.design_project = document.getElementById("design-project").value;
  });

  // The personalisation menu: the chosen database's fields, then the other names templates know.
  var menu = document.getElementById("merge-field");
  var profileGroup = document.getElementById("merge-profile-fields");
  var database = document.getElementById("database_id");
  var status = document.getElementById("merge-status");
  function fillFields() {
    var names = database && fields[database.value] ? fields[database.value] : [];
    if (!names.length) {
      Object.keys(fields).forEach(function (key) {
        fields[key].forEach(function (name) { if (names.indexOf(name) < 0) names.push(name); });
      });
    }
    profileGroup.textContent = "";
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = "{{ profile." + name + " }}";
      option.textContent = name;
      profileGroup.appendChild(option);
    });
    var id = document.createElement("option");
    id.value = "{{ profile.id }}";
    id.textContent = "id";
    profileGroup.appendChild(id);
  }
  if (database) database.addEventListener("change", fillFields);
  fillFields();

  function insert(token) {
    var editing = editor.getEditing && editor.getEditing();
    var rte = editor.RichTextEditor && editor.RichTextEditor.globalRte;
    if (editing && rte && rte.insertHTML) {
      rte.insertHTML(token);
      return true;
    }
    var selected = editor.getSelected();
    if (selected && /text|button/.test(selected.get("type") || "")) {
      selected.components().add({ type: "textnode", content: " " + token });
      return true;
    }
    return false;
  }
  menu.addEventListener("change", function () {
    if (!menu.value) return;
    status.textContent = insert(menu.value) ? menu.value : menu.dataset.empty;
    menu.value = "";
  });
})();
