import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { installReporting } from './ops/reporting'
import './styles/base.css'
import './styles/app.css'
import './styles/workspace.css'
import './styles/panes.css'
import './styles/ux.css'
import './styles/ops.css'

installReporting()

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
