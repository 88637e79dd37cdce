(function () {
var exports = {};
"use strict";

Object.defineProperty(exports, "__esModule", {
  value: true
});
exports.default = void 0;
var _default = exports.default = {
  'grapesjs-mjml': {
    category: '',
    panels: {
      buttons: {
        undo: 'Ongedaan maken',
        redo: 'Opnieuw doen',
        desktop: 'Computer',
        tablet: 'Tablet',
        mobile: 'Mobiel',
        import: 'Importeer MJML'
      },
      import: {
        title: 'Importeer MJML',
        button: 'Importeer',
        label: ''
      },
      export: {
        title: 'Exporteer MJML'
      }
    },
    components: {
      names: {
        body: 'Hoofd onderdeel',
        button: 'Knop',
        column: 'Kolom',
        oneColumn: '1 Kolom',
        twoColumn: '2 Kolommen',
        threeColumn: '3 Kolommen',
        divider: 'Verdeler',
        group: 'Groep',
        hero: 'Hero',
        image: 'Afbeelding',
        navBar: 'Navigatiebalk',
        navLink: 'Navigatie Link',
        section: 'Sectie',
        socialGroup: 'Sociale groep',
        socialElement: 'Sociaal Element',
        spacer: 'Tussenlaag',
        text: 'Tekst',
        wrapper: 'Wikkellaag',
        raw: 'Rauwe'
      }
    }
  }
};
window.verrijkEditorLocales = window.verrijkEditorLocales || {};
window.verrijkEditorLocales["grapesjs-mjml"] = exports.default;
})();
