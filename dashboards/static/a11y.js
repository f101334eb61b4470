/*
 * Accessibility repairs for two Dash 4.4 core components, applied as they appear in the page.
 *
 * dcc.RadioItems marks its group as a listbox and each <label> as an option, although each option
 * holds a real radio button: screen readers then meet options that contain controls, and the group
 * has no name. Removing those roles leaves plain, native radio buttons named by the <fieldset>'s legend.
 *
 * dcc.Dropdown puts an invisible, aria-hidden input in the tab order that hands focus on to the real
 * button, and names the button only by its current value. Here the button itself takes keyboard
 * focus and is named by its visible <label> followed by the value ("Area, Northtown"). Its pop-up is
 * an unnamed dialog holding a "listbox" whose "options" each wrap a real radio button (the element
 * that takes focus as the arrow keys move): it is described as what it is, a named dialog holding a
 * group of radio buttons (checkboxes for a multi-select).
 *
 * React only rewrites an attribute when its own value for it changes, so these repairs persist; the
 * observer re-applies them when a component re-renders (for example when a radio is selected), at once:
 * waiting for the next animation frame left a moment in which the page could be read unrepaired.
 */
(function () {
  "use strict";

  function repairRadioGroups(root) {
    root.querySelectorAll(".dash-radioitems[role='listbox'], .dash-checklist[role='listbox']").forEach(function (group) {
      group.removeAttribute("role");
    });
    // Only inside radio and checkbox groups: the dropdown's own list rightly uses these roles.
    var options = ".dash-radioitems .dash-options-list-option, .dash-checklist .dash-options-list-option";
    root.querySelectorAll(options).forEach(function (label) {
      if (!label.hasAttribute("role") && !label.hasAttribute("aria-selected")) { return; }
      label.removeAttribute("role");
      label.removeAttribute("aria-selected");
    });
  }

  function repairDropdowns(root) {
    root.querySelectorAll(".dash-dropdown-wrapper").forEach(function (wrapper) {
      var proxy = wrapper.querySelector(".dash-dropdown-focus-target");
      var button = wrapper.querySelector("button.dash-dropdown");
      if (!button) { return; }
      if (proxy && proxy.tabIndex !== -1) { proxy.tabIndex = -1; }
      if (!button.disabled && button.tabIndex !== 0) { button.tabIndex = 0; }
      if (!button.id) { return; }
      var label = document.querySelector("label[for='" + button.id + "']");
      if (!label) { return; }
      if (!label.id) { label.id = button.id + "-label"; }
      var ids = (button.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
      if (ids.indexOf(label.id) === -1) {
        button.setAttribute("aria-labelledby", [label.id].concat(ids).join(" "));
      }
      if (button.getAttribute("aria-haspopup") !== "dialog") { button.setAttribute("aria-haspopup", "dialog"); }
      var popupId = button.getAttribute("aria-controls");
      var popup = popupId ? document.getElementById(popupId) : null;
      if (popup) { repairDropdownPopup(popup, label.id); }
    });
  }

  function repairDropdownPopup(popup, labelId) {
    if (popup.getAttribute("aria-labelledby") !== labelId) { popup.setAttribute("aria-labelledby", labelId); }
    popup.querySelectorAll(".dash-dropdown-options[role='listbox']").forEach(function (list) {
      var multiple = list.querySelector("input[type='checkbox']") !== null;
      list.setAttribute("role", multiple ? "group" : "radiogroup");
      list.setAttribute("aria-labelledby", labelId);
    });
    popup.querySelectorAll(".dash-dropdown-option[role], .dash-dropdown-option[aria-selected]").forEach(function (option) {
      option.removeAttribute("role");
      option.removeAttribute("aria-selected");
    });
  }

  function repair() {
    repairRadioGroups(document);
    repairDropdowns(document);
  }

  function start() {
    repair();
    // Repaired in the observer's own callback: it runs as soon as React's update has finished, before any
    // other task (a screen reader's, a keypress's, a test's) can meet the page unrepaired. A repair changes
    // only what differs, so the records of its own changes lead to one more pass that changes nothing.
    new MutationObserver(repair).observe(document.body, {
      childList: true, subtree: true, attributes: true,
      attributeFilter: ["role", "aria-selected", "tabindex", "aria-labelledby", "aria-haspopup", "aria-controls"]
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
