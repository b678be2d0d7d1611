import {h} from '../dom.js';
export function siteTab(tab) { tab.el.append(h('p', null, 'site')); }
