import {h} from '../dom.js';
export function deleteTab(tab) { tab.el.append(h('p', null, 'delete')); }
